/**
 * `sync`: copies snapshots from one store into another with other keys. For each snapshot the
 * destination does not have yet (same id), the source tree is read in key order and rebuilt in
 * the destination: directories and symlinks as they are, file content read from the source
 * (every chunk verified), re-chunked with the destination's keyed chunker and stored there
 * (deduplicated against what it holds), then the destination's states are flushed and the header
 * is written with the same id, time, name, tags, host, user and source (FORMAT.md §8.1; the
 * summary's stored bytes, new blobs and reused entries are the sync's own).
 *
 * Resumable: snapshots already in the destination are skipped, and the blobs of an interrupted
 * run are found again by deduplication. Memory is bounded: files in flight (`fileConcurrency`),
 * bytes read and written but not yet stored (budgets), one tree node per level on each side, and
 * the content map on disk (content-map.ts).
 */
import type { SourceRecord } from '@kloset/connector-contract';
import { Semaphore } from '@kloset/connector-contract';
import { storeFileContent } from '../backup/file-content.ts';
import { chunkStream } from '../chunking/fastcdc.ts';
import { toHex } from '../encoding/bytes.ts';
import { BlobKind } from '../repository/blob-store.ts';
import { acquireLock } from '../repository/locks.ts';
import { fileContent } from '../restore/file-content.ts';
import type { EngineRepository } from '../snapshot/engine-repository.ts';
import type { ChunkRef, SnapshotEntry } from '../snapshot/entry.ts';
import { compareSnapshots } from '../snapshot/filter.ts';
import type { SnapshotHeader } from '../snapshot/header.ts';
import { listSnapshots, writeSnapshot } from '../snapshot/snapshots.ts';
import { TreeBuilder, type TreeBuilderOptions } from '../snapshot/tree-builder.ts';
import { errorMessage, TreeReader } from '../snapshot/tree-reader.ts';
import { ContentMap, contentKey } from './content-map.ts';

export interface SyncOptions {
  /** The source snapshots to copy (default: all), copied oldest first. */
  readonly snapshots?: readonly SnapshotHeader[];
  /**
   * Where to keep the content map between runs (e.g. the destination's cache directory); default
   * a temporary one, removed at the end.
   */
  readonly mapDir?: string;
  /** Files copied at once (default 8). */
  readonly fileConcurrency?: number;
  /** Bytes read from the source and not yet handed on, and handed to the destination and not yet stored (default 32 MiB each). */
  readonly maxBytesInFlight?: number;
  readonly tree?: TreeBuilderOptions;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: SyncProgress) => void;
  /** Called when a snapshot is copied or found present. */
  readonly onSnapshot?: (snapshot: SyncedSnapshot) => void;
  /** Lock behaviour overrides (tests). */
  readonly lock?: { readonly staleAfterMs?: number; readonly refreshIntervalMs?: number };
}

export interface SyncProgress {
  /** The snapshot being copied (hex id). */
  readonly snapshot: string;
  readonly entries: number;
  /** Bytes of file content read from the source. */
  readonly bytes: number;
}

/** One snapshot of a sync. */
export interface SyncedSnapshot {
  /** Hex id (the same in both stores). */
  readonly id: string;
  /** `present`: the destination had it already, nothing was done. */
  readonly status: 'copied' | 'present';
  /** The header in the destination (for `present`, the source's). */
  readonly header: SnapshotHeader;
  /** Bytes and blobs this sync added to the destination for it. */
  readonly storedBytes: number;
  readonly newBlobs: number;
  /** Files whose destination chunks came from the content map, without reading them. */
  readonly mappedFiles: number;
  /** Bytes of file content read from the source. */
  readonly readBytes: number;
}

export interface SyncResult {
  readonly snapshots: readonly SyncedSnapshot[];
  readonly copied: number;
  readonly present: number;
  readonly storedBytes: number;
}

/** The content of a file could not be copied (it is missing or corrupt in the source). */
export class SyncContentError extends Error {
  override readonly name = 'SyncContentError';
}

interface Counters {
  entries: number;
  bytes: number;
  storedBytes: number;
  newBlobs: number;
  mappedFiles: number;
}

/** Copies `snapshots` (default all) from `src` into `dst` (see the module comment). */
export async function syncSnapshots(
  src: EngineRepository,
  dst: EngineRepository,
  options: SyncOptions = {},
): Promise<SyncResult> {
  options.signal?.throwIfAborted();
  const headers = [...(options.snapshots ?? (await listSnapshots(src)))].sort(compareSnapshots);
  const lock = await acquireLock(dst, { exclusive: false, ...options.lock });
  const map = ContentMap.open(options.mapDir);
  try {
    const present = new Set<string>();
    for await (const id of dst.listResources('snapshot')) present.add(toHex(id));
    const out: SyncedSnapshot[] = [];
    for (const h of headers) {
      options.signal?.throwIfAborted();
      const id = toHex(h.id);
      const synced: SyncedSnapshot = present.has(id)
        ? { id, status: 'present', header: h, storedBytes: 0, newBlobs: 0, mappedFiles: 0, readBytes: 0 }
        : await copySnapshot(src, dst, h, map, options);
      present.add(id);
      out.push(synced);
      options.onSnapshot?.(synced);
    }
    return {
      snapshots: out,
      copied: out.filter((s) => s.status === 'copied').length,
      present: out.filter((s) => s.status === 'present').length,
      storedBytes: out.reduce((n, s) => n + s.storedBytes, 0),
    };
  } finally {
    map.close();
    await lock.release().catch(() => undefined);
  }
}

async function copySnapshot(
  src: EngineRepository,
  dst: EngineRepository,
  header: SnapshotHeader,
  map: ContentMap,
  options: SyncOptions,
): Promise<SyncedSnapshot> {
  const id = toHex(header.id);
  const label = `snapshot ${id.slice(0, 8)}`;
  const signal = options.signal;
  const budget = options.maxBytesInFlight ?? 32 * 1024 * 1024;
  const readBudget = new Semaphore(budget);
  const writeBudget = new Semaphore(budget);
  const windowBytes = Math.max(1, Math.min(4 * 1024 * 1024, Math.floor(budget / 2)));
  const chunker = (content: AsyncIterable<Uint8Array>) =>
    chunkStream(content, dst.config.chunking, dst.keyRing.gear);
  const c: Counters = { entries: 0, bytes: 0, storedBytes: 0, newBlobs: 0, mappedFiles: 0 };
  const report = () => options.onProgress?.({ snapshot: id, entries: c.entries, bytes: c.bytes });

  const mapped = (entry: SnapshotEntry, key: Uint8Array): readonly ChunkRef[] | undefined => {
    const chunks = map.get(key);
    if (chunks === undefined) return undefined;
    let total = 0;
    for (const ch of chunks) {
      if (!dst.hasBlob(BlobKind.Chunk, ch.id)) return undefined;
      total += ch.length;
    }
    return total === entry.size ? chunks : undefined;
  };

  const copyFile = async (entry: SnapshotEntry): Promise<SnapshotEntry> => {
    if (entry.type !== 'file' || entry.error !== undefined || entry.chunks.length === 0) return entry;
    const key = contentKey(entry.chunks);
    const known = mapped(entry, key);
    if (known !== undefined) {
      c.mappedFiles++;
      return { ...entry, chunks: known };
    }
    let readError: unknown;
    const record: SourceRecord = {
      ...entry,
      async open() {
        return (async function* () {
          try {
            yield* fileContent(src, entry, readBudget, windowBytes, signal);
          } catch (err) {
            readError = err;
            throw err;
          }
        })();
      },
    };
    const res = await storeFileContent(dst, record, chunker, writeBudget, (n) => {
      c.bytes += n;
    });
    c.storedBytes += res.storedBytes;
    c.newBlobs += res.newBlobs;
    if (!res.ok) {
      signal?.throwIfAborted();
      const cause = readError instanceof Error && readError.cause !== undefined ? readError.cause : readError;
      throw new SyncContentError(
        `cannot copy ${entry.path} of ${label}: ${cause === undefined ? res.error : errorMessage(cause)}`,
        { cause },
      );
    }
    map.put(key, res.chunks);
    return { ...entry, chunks: res.chunks, size: res.size };
  };

  const builder = new TreeBuilder(dst, options.tree);
  const queue: Promise<SnapshotEntry>[] = [];
  const concurrency = options.fileConcurrency ?? 8;
  const timer = options.onProgress === undefined ? undefined : setInterval(report, 250);
  timer?.unref();
  try {
    try {
      for await (const entry of new TreeReader(src, header.root, { label }).entries()) {
        signal?.throwIfAborted();
        const job = copyFile(entry);
        job.catch(() => undefined); // observed below, in order
        queue.push(job);
        while (queue.length >= concurrency) {
          await builder.add(await queue.shift()!);
          c.entries++;
        }
      }
      while (queue.length > 0) {
        await builder.add(await queue.shift()!);
        c.entries++;
      }
    } catch (err) {
      await Promise.allSettled(queue);
      throw err;
    }
    const tree = await builder.finish();
    await dst.flush();
    signal?.throwIfAborted();
    const storedBytes = c.storedBytes + tree.storedBytes;
    const newBlobs = c.newBlobs + tree.newBlobs;
    const copy: SnapshotHeader = {
      ...header,
      root: tree.root,
      summary: { ...header.summary, storedBytes, newBlobs, reusedEntries: c.mappedFiles },
    };
    await writeSnapshot(dst, copy);
    return {
      id,
      status: 'copied',
      header: copy,
      storedBytes,
      newBlobs,
      mappedFiles: c.mappedFiles,
      readBytes: c.bytes,
    };
  } finally {
    if (timer !== undefined) clearInterval(timer);
    report();
  }
}
