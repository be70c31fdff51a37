/** Turns a Source record into a snapshot entry, and decides whether a parent entry can be reused. */
import type { EntryMetadata, PreviousEntry, SourceRecord } from '@kloset/connector-contract';
import { BlobKind, type BlobStore } from '../repository/blob-store.ts';
import type { ChunkRef, SnapshotEntry } from '../snapshot/entry.ts';

/**
 * The entry for `record` with the given content (files) and error. Copies the attributes, so the
 * record (and its `open` closure) is not kept. The metadata the content brought (a record with
 * `metadataOnOpen`) replaces the record's.
 */
export function recordEntry(
  record: SourceRecord,
  content:
    | { readonly chunks: readonly ChunkRef[]; readonly size: number; readonly metadata?: EntryMetadata }
    | undefined,
  error: string | undefined,
): SnapshotEntry {
  const e: { -readonly [K in keyof SnapshotEntry]: SnapshotEntry[K] } = {
    path: record.path,
    type: record.type,
    size: record.type === 'file' ? (content?.size ?? (error === undefined ? record.size : 0)) : 0,
    mtime: { sec: record.mtime.sec, nsec: record.mtime.nsec },
    metadata: content?.metadata ?? record.metadata,
    chunks: content?.chunks ?? [],
  };
  if (record.mode !== undefined) e.mode = record.mode;
  if (record.uid !== undefined) e.uid = record.uid;
  if (record.gid !== undefined) e.gid = record.gid;
  if (record.linkTarget !== undefined) e.linkTarget = record.linkTarget;
  if (record.nameBytes !== undefined) e.nameBytes = record.nameBytes;
  if (record.linkTargetBytes !== undefined) e.linkTargetBytes = record.linkTargetBytes;
  if (record.changeToken !== undefined) e.changeToken = record.changeToken;
  if (error !== undefined) e.error = error;
  return e;
}

/**
 * True when `previous` (the same path in the parent snapshot) holds the content of `record`
 * (FORMAT.md §8.3): both files, same size, mtime and change token, no error, every chunk still in
 * the store, and the record's metadata complete (no `metadataOnOpen`). With `chunksPresent` (no
 * parent was written through this index, nothing left it since: BlobStore.snapshotBlobsIndexed) its chunks are
 * known to be in the store without a lookup each.
 */
export function canReuse(
  record: SourceRecord,
  previous: SnapshotEntry | undefined,
  store: BlobStore,
  chunksPresent = false,
): boolean {
  if (previous === undefined || previous.type !== 'file' || record.type !== 'file') return false;
  if (record.metadataOnOpen === true) return false; // its metadata comes with its content
  if (previous.error !== undefined) return false;
  if (previous.size !== record.size) return false;
  if (previous.mtime.sec !== record.mtime.sec || previous.mtime.nsec !== record.mtime.nsec) return false;
  if (previous.changeToken !== record.changeToken) return false;
  let total = 0;
  for (const c of previous.chunks) {
    if (!chunksPresent && !store.hasBlob(BlobKind.Chunk, c.id)) return false;
    total += c.length;
  }
  return total === record.size;
}

/**
 * What a Source may learn of a parent snapshot's entry (ScanContext.previous): the attributes and
 * change token of a file recorded without error; undefined for anything else. No chunk list.
 */
export function previousEntry(e: SnapshotEntry | undefined): PreviousEntry | undefined {
  if (e === undefined || e.type !== 'file' || e.error !== undefined) return undefined;
  const { chunks: _chunks, error: _error, ...attributes } = e;
  return attributes;
}
