/**
 * The read path: one blob with one ranged read, or many blobs with coalesced ranged reads (blobs of
 * one packfile close to each other are fetched together), every blob verified (FORMAT.md §4.3).
 */
import { isConnectorError, isNotFound, type Storage } from '@kloset/connector-contract';
import { toHex } from '../encoding/bytes.ts';
import { openBlobAt, type PackReadContext, packfileKey } from '../packfile/reader.ts';
import type { PackfileWriter } from '../packfile/writer.ts';
import type { CryptoPool } from '../workers/crypto-pool.ts';
import type { BlobId, BlobKind, BlobLocation } from './blob-store.ts';
import { CorruptBlobError, MissingBlobError, reasonOf } from './errors.ts';
import { type ReadBufferPool, shareBuffer } from './read-buffers.ts';

/** Where to read sealed bytes from: the store, or memory for blobs of packfiles not yet uploaded. */
export interface BlobSource {
  readonly storage: Storage;
  readonly ctx: PackReadContext;
  /**
   * Crypto workers that open the blobs of coalesced reads off this thread (node:crypto provider,
   * encrypted stores); undefined: blobs are opened on this thread.
   */
  readonly workers?: CryptoPool | undefined;
  /** Buffers that coalesced reads are read into, given back through the results' `release`. */
  readonly buffers?: ReadBufferPool | undefined;
  /** Where a blob is, or undefined. */
  locate(kind: BlobKind, id: BlobId): BlobLocation | undefined;
  /** The in-memory writer of a packfile that is not durable yet, or undefined. */
  pendingPackfile(packId: Uint8Array): PackfileWriter | undefined;
}

/** Options of `readBlobs`. */
export interface ReadBlobsOptions {
  /** Two blobs of a packfile at most this many bytes apart are fetched in one read (default 256 KiB). */
  readonly maxGap?: number;
  /** A coalesced read spans at most this many bytes, unless one blob is larger (default 16 MiB). */
  readonly maxSpan?: number;
  /** Ranged reads in flight at most (default 4). Memory is about `concurrency * maxSpan`. */
  readonly concurrency?: number;
  /**
   * Reads go into the repository's reusable buffers, and ok results carry `release` (default
   * false: each read gets a new array of its exact size). For callers that release their results.
   */
  readonly pooled?: boolean;
}

/**
 * One result of `readBlobs`: the blob, or why it could not be read (missing or corrupt). `release`,
 * when present, says that nothing reads `data` any more: its memory may then be read into again.
 * Calling it is optional (without the call the memory is left to the garbage collector); reading
 * `data` after it is not allowed.
 */
export type BlobReadResult =
  | {
      readonly index: number;
      readonly id: BlobId;
      readonly ok: true;
      readonly data: Uint8Array;
      readonly release?: () => void;
    }
  | { readonly index: number; readonly id: BlobId; readonly ok: false; readonly error: Error };

/**
 * Gives a pooled read buffer back once every result whose data lies in it has been released.
 * Results outside it (decompressed plaintexts, errors) hold nothing.
 */
function lendBuffer(
  pool: ReadBufferPool,
  buffer: ArrayBufferLike,
  results: readonly BlobReadResult[],
): BlobReadResult[] {
  const holds = (r: BlobReadResult): boolean => r.ok && r.data.buffer === buffer;
  const releases = shareBuffer(pool, new Uint8Array(buffer), results.filter(holds).length);
  let k = 0;
  return results.map((r) => (holds(r) ? { ...r, release: releases[k++]! } : r));
}

/** Reads the sealed bytes of a located blob (memory first, then one ranged read). */
async function readSealed(src: BlobSource, loc: BlobLocation): Promise<Uint8Array> {
  const pending = src.pendingPackfile(loc.packfile)?.sealedAt(loc.offset, loc.length);
  if (pending) return pending;
  try {
    return await src.storage.get('packfile', toHex(loc.packfile), { offset: loc.offset, length: loc.length });
  } catch (err) {
    if (isNotFound(err)) throw new MissingBlobError(loc.id, 'its packfile is not in the store', loc.packfile);
    if (isConnectorError(err, 'invalid')) throw new CorruptBlobError(loc.id, loc.packfile, PAST_THE_END);
    throw err;
  }
}

/** Why a blob whose range goes past the end of its packfile cannot be read. */
const PAST_THE_END = 'its packfile ends before the blob (truncated?)';

/**
 * Reads one blob: locate, one ranged read, open and verify. Throws MissingBlobError if it is not
 * indexed or its packfile is gone, CorruptBlobError (naming blob and packfile) if it fails a check.
 */
export async function readBlob(src: BlobSource, kind: BlobKind, id: BlobId): Promise<Uint8Array> {
  const loc = src.locate(kind, id);
  if (!loc) throw new MissingBlobError(id, 'not in the index');
  const sealed = await readSealed(src, loc);
  // Bytes from storage are ours to decrypt in place; a pending packfile's are not.
  const owned = src.pendingPackfile(loc.packfile) === undefined;
  return openBlobAt(src.ctx, packfileKey(src.ctx, loc.packfile), loc, sealed, owned);
}

interface Wanted {
  readonly index: number;
  readonly loc: BlobLocation;
}

/** A coalesced read: one range of one packfile and the blobs inside it. */
interface ReadGroup {
  readonly packfile: Uint8Array;
  readonly offset: number;
  readonly length: number;
  readonly blobs: readonly Wanted[];
}

/** Groups located blobs by packfile, sorts them by offset, and merges close ones into ranges. */
export function planReads(wanted: readonly Wanted[], maxGap: number, maxSpan: number): ReadGroup[] {
  const byPack = new Map<string, Wanted[]>();
  for (const w of wanted) {
    const hex = toHex(w.loc.packfile);
    const list = byPack.get(hex);
    if (list) list.push(w);
    else byPack.set(hex, [w]);
  }
  const groups: ReadGroup[] = [];
  for (const list of byPack.values()) {
    list.sort((a, b) => a.loc.offset - b.loc.offset);
    let current: { packfile: Uint8Array; offset: number; end: number; blobs: Wanted[] } | undefined;
    for (const w of list) {
      const end = w.loc.offset + w.loc.length;
      if (
        current &&
        w.loc.offset - current.end <= maxGap &&
        Math.max(end, current.end) - current.offset <= maxSpan
      ) {
        current.end = Math.max(current.end, end);
        current.blobs.push(w);
        continue;
      }
      if (current) groups.push({ ...current, length: current.end - current.offset });
      current = { packfile: w.loc.packfile, offset: w.loc.offset, end, blobs: [w] };
    }
    if (current) groups.push({ ...current, length: current.end - current.offset });
  }
  return groups;
}

/** Reads queued per crypto worker before further reads are opened on the calling thread. */
const WORKER_DEPTH = 2;

async function fetchGroup(src: BlobSource, group: ReadGroup, usePool: boolean): Promise<BlobReadResult[]> {
  const pending = src.pendingPackfile(group.packfile);
  let bytes: Uint8Array | undefined;
  let fetchError: Error | undefined;
  let pooled: Uint8Array | undefined;
  if (!pending) {
    const into = usePool ? src.buffers?.take(group.length) : undefined;
    try {
      bytes = await src.storage.get('packfile', toHex(group.packfile), {
        offset: group.offset,
        length: group.length,
        ...(into === undefined ? {} : { into }),
      });
    } catch (err) {
      // `into` is dropped rather than given back (ByteRange.into: a storage no longer writes into
      // it once get settles, but a failed read is rare enough not to bet a buffer on it).
      // A packfile gone: its blobs fail. Shorter than the index says (truncated): its blobs are
      // read one by one below, those before the cut served, the others failing each.
      if (isNotFound(err)) fetchError = new Error('its packfile is not in the store');
      else if (!isConnectorError(err, 'invalid')) throw err;
    }
    // Unused (the storage returned a new array, or the packfile is gone): straight back to the pool.
    if (into !== undefined && bytes !== undefined && bytes.buffer === into.buffer) pooled = into;
    else if (into !== undefined) src.buffers?.give(into);
  }
  // With the workers busy (WORKER_DEPTH reads each), this read is opened here rather than queued.
  if (bytes !== undefined && src.workers !== undefined && !src.workers.saturated(WORKER_DEPTH)) {
    // A pooled buffer goes whole (it is transferred, not copied), the read being its start.
    const opened = openInWorker(src, src.workers, group, pooled ?? bytes);
    if (opened !== undefined) {
      const pool = src.buffers;
      return pooled === undefined || pool === undefined
        ? opened.then((r) => r.results)
        : opened.then((r) => lendBuffer(pool, r.buffer, r.results));
    }
  }
  const key = packfileKey(src.ctx, group.packfile);
  const results: BlobReadResult[] = [];
  // The fetched range is ours: blobs are decrypted in place, so a blob wanted twice is opened once.
  const opened = new Map<number, Promise<Uint8Array>>();
  for (const { index, loc } of group.blobs) {
    try {
      if (fetchError) throw new MissingBlobError(loc.id, fetchError.message, loc.packfile);
      let data: Promise<Uint8Array> | undefined = opened.get(loc.offset);
      if (data === undefined) {
        const start = loc.offset - group.offset;
        data = bytes
          ? openBlobAt(src.ctx, key, loc, bytes.subarray(start, start + loc.length), true)
          : readSealed(src, loc).then((sealed) => openBlobAt(src.ctx, key, loc, sealed));
        opened.set(loc.offset, data);
      }
      results.push({ index, id: loc.id, ok: true, data: await data });
    } catch (err) {
      const error = err instanceof Error ? err : new Error(reasonOf(err));
      results.push({ index, id: loc.id, ok: false, error });
    }
  }
  return pooled !== undefined && src.buffers !== undefined
    ? lendBuffer(src.buffers, pooled.buffer, results)
    : results;
}

/**
 * Opens the blobs of a fetched range (at the start of `bytes`) in a crypto worker; undefined if
 * no worker is alive. Also resolves to the buffer of `bytes`, back from the worker.
 */
function openInWorker(
  src: BlobSource,
  workers: CryptoPool,
  group: ReadGroup,
  bytes: Uint8Array,
): Promise<{ results: BlobReadResult[]; buffer: ArrayBuffer }> | undefined {
  const outcomes = workers.openBlobs(bytes, {
    macKey: src.ctx.keyRing.macKey,
    encKey: src.ctx.keyRing.encKey,
    packId: group.packfile,
    blobs: group.blobs.map(({ loc }) => ({
      kind: loc.kind,
      id: loc.id,
      start: loc.offset - group.offset,
      length: loc.length,
      packOffset: loc.offset,
      rawLength: loc.rawLength,
    })),
  });
  return outcomes?.then(({ outcomes: list, buffer }) => ({
    buffer,
    results: group.blobs.map(({ index, loc }, i): BlobReadResult => {
      const o = list[i]!;
      return o.ok
        ? { index, id: loc.id, ok: true, data: o.data }
        : { index, id: loc.id, ok: false, error: new CorruptBlobError(loc.id, loc.packfile, o.reason) };
    }),
  }));
}

/**
 * Reads many blobs of one kind with coalesced ranged reads. Yields one result per entry of `ids`
 * (duplicates included) carrying its position `index` in `ids`, grouped by packfile and in offset
 * order (not in the order of `ids`). A blob that is missing or fails verification yields an error
 * result (MissingBlobError or CorruptBlobError) and the others go on; storage failures other than
 * not-found are thrown. Memory is O(ids.length) for the plan plus about `concurrency * maxSpan`.
 */
export async function* readBlobs(
  src: BlobSource,
  kind: BlobKind,
  ids: readonly BlobId[],
  options: ReadBlobsOptions = {},
): AsyncGenerator<BlobReadResult> {
  const maxGap = options.maxGap ?? 256 * 1024;
  const maxSpan = options.maxSpan ?? 16 * 1024 * 1024;
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const wanted: Wanted[] = [];
  for (const [index, id] of ids.entries()) {
    const loc = src.locate(kind, id);
    if (loc) wanted.push({ index, loc });
    else yield { index, id, ok: false, error: new MissingBlobError(id, 'not in the index') };
  }
  const groups = planReads(wanted, maxGap, maxSpan);
  const inFlight: Promise<BlobReadResult[]>[] = [];
  let next = 0;
  const launch = (): void => {
    while (inFlight.length < concurrency && next < groups.length) {
      const p = fetchGroup(src, groups[next++]!, options.pooled === true);
      p.catch(() => undefined); // observed below, in order
      inFlight.push(p);
    }
  };
  launch();
  while (inFlight.length > 0) {
    const results = await inFlight.shift()!;
    launch();
    yield* results;
  }
}
