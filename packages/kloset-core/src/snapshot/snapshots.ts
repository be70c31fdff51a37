/**
 * Snapshot headers in the store: reading, listing, resolving a reference (`latest`, an id prefix),
 * finding the parent of a new backup, writing and deleting.
 */
import { isNotFound, type SourceInfo } from '@kloset/connector-contract';
import { fromHex, toHex } from '../encoding/bytes.ts';
import type { ResourceStore } from '../repository/resource-store.ts';
import { selectSnapshots } from './filter.ts';
import { decodeHeader, encodeHeader, type SnapshotHeader, sameSource } from './header.ts';
import { errorMessage } from './tree-reader.ts';

/** A snapshot reference: `latest`, or a prefix of the hex id (the CLI shows the first 8 digits). */
export type SnapshotRef = string;

/** Reads and decodes one header; errors name the snapshot. */
export async function readSnapshot(store: ResourceStore, id: Uint8Array): Promise<SnapshotHeader> {
  const idHex = toHex(id);
  let bytes: Uint8Array;
  try {
    bytes = await store.getResource('snapshot', id);
  } catch (err) {
    if (isNotFound(err)) throw new SnapshotNotFoundError(`snapshot ${idHex} not found`, { cause: err });
    throw err;
  }
  return decodeHeader(bytes, idHex);
}

/** Stores a header under its id. */
export async function writeSnapshot(store: ResourceStore, header: SnapshotHeader): Promise<void> {
  await store.putResource('snapshot', header.id, encodeHeader(header));
}

/** No snapshot matches a reference. */
export class SnapshotNotFoundError extends Error {
  override readonly name = 'SnapshotNotFoundError';
}

/** A reference matches several snapshots. */
export class AmbiguousSnapshotError extends Error {
  override readonly name = 'AmbiguousSnapshotError';
}

/** A header that could be read, or the error that prevented it. */
export type SnapshotReadResult =
  | { readonly id: string; readonly ok: true; readonly header: SnapshotHeader }
  | { readonly id: string; readonly ok: false; readonly error: string };

/**
 * Reads every snapshot header (`concurrency` at a time), yielding each with its hex id, or the
 * reason it could not be read. Headers deleted while listing are skipped.
 */
export async function* readSnapshots(
  store: ResourceStore,
  concurrency = 8,
): AsyncGenerator<SnapshotReadResult> {
  const inFlight: Promise<SnapshotReadResult | undefined>[] = [];
  const start = (id: Uint8Array): Promise<SnapshotReadResult | undefined> =>
    readSnapshot(store, id).then(
      (header): SnapshotReadResult => ({ id: toHex(id), ok: true, header }),
      (err: unknown): SnapshotReadResult | undefined =>
        err instanceof SnapshotNotFoundError
          ? undefined
          : { id: toHex(id), ok: false, error: errorMessage(err) },
    );
  for await (const id of store.listResources('snapshot')) {
    inFlight.push(start(id));
    if (inFlight.length >= concurrency) {
      const r = await inFlight.shift()!;
      if (r) yield r;
    }
  }
  for (const p of inFlight) {
    const r = await p;
    if (r) yield r;
  }
}

/**
 * Every readable snapshot header, oldest first (then by id). Unreadable headers are passed to
 * `onError` (default: thrown).
 */
export async function listSnapshots(
  store: ResourceStore,
  onError?: (id: string, error: string) => void,
): Promise<SnapshotHeader[]> {
  const out: SnapshotHeader[] = [];
  for await (const r of readSnapshots(store)) {
    if (r.ok) out.push(r.header);
    else if (onError) onError(r.id, r.error);
    else throw new Error(`snapshot ${r.id}: ${r.error}`);
  }
  return out.sort((a, b) => a.time - b.time || Buffer.compare(a.id, b.id));
}

/** The newest snapshot of `source` (same protocol, origin and root), if any. */
export async function latestSnapshotOf(
  store: ResourceStore,
  source: SourceInfo,
): Promise<SnapshotHeader | undefined> {
  let best: SnapshotHeader | undefined;
  for await (const r of readSnapshots(store)) {
    if (!r.ok || !sameSource(r.header.source, source)) continue;
    const h = r.header;
    if (
      best === undefined ||
      h.time > best.time ||
      (h.time === best.time && Buffer.compare(h.id, best.id) > 0)
    ) {
      best = h;
    }
  }
  return best;
}

/**
 * Resolves `latest` or a hex id prefix to a header. Throws SnapshotNotFoundError when nothing
 * matches, AmbiguousSnapshotError (listing the candidates) when several ids share the prefix, and
 * AmbiguousLatestError for `latest` when the store holds snapshots of several sources.
 */
export async function resolveSnapshot(store: ResourceStore, ref: SnapshotRef): Promise<SnapshotHeader> {
  if (ref === 'latest') {
    // The newest, provided every snapshot is of one source (else AmbiguousLatestError).
    const [last] = selectSnapshots(await listSnapshots(store, () => undefined), ['latest']);
    return last!;
  }
  const prefix = ref.toLowerCase();
  if (!/^[0-9a-f]{1,64}$/.test(prefix)) {
    throw new SnapshotNotFoundError(
      `invalid snapshot reference ${JSON.stringify(ref)}: expected "latest" or a hex id`,
    );
  }
  const matches: string[] = [];
  for await (const id of store.listResources('snapshot')) {
    const h = toHex(id);
    if (h.startsWith(prefix)) matches.push(h);
  }
  if (matches.length === 0) throw new SnapshotNotFoundError(`no snapshot matches ${JSON.stringify(ref)}`);
  if (matches.length > 1) {
    const shown = matches
      .slice(0, 10)
      .map((m) => m.slice(0, Math.max(8, prefix.length + 1)))
      .join(', ');
    throw new AmbiguousSnapshotError(
      `snapshot reference ${JSON.stringify(ref)} is ambiguous: ${matches.length} snapshots match (${shown})`,
    );
  }
  return readSnapshot(store, fromHex(matches[0]!, 'snapshot id'));
}
