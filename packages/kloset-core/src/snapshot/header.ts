/**
 * The snapshot header (docs/FORMAT.md §8.1): the body of a `snapshot` resource, a msgpack map.
 */
import type { SourceInfo } from '@kloset/connector-contract';
import { toHex } from '../encoding/bytes.ts';
import { decodeMsgpack, encodeMsgpack, wideInt } from '../encoding/msgpack.ts';
import { readArray, readBin, readInt, readMap, readString } from '../encoding/msgpack-readers.ts';
import type { BlobId } from '../repository/blob-store.ts';

/** Counts and sizes of a snapshot. */
export interface SnapshotSummary {
  readonly files: number;
  readonly directories: number;
  readonly symlinks: number;
  /** Entries recorded with an error (no content). */
  readonly errors: number;
  /** Content bytes of the files. */
  readonly bytes: number;
  /** Bytes this backup added to packfiles (after dedup, compression and encryption). */
  readonly storedBytes: number;
  /** Blobs this backup added (chunks and tree nodes). */
  readonly newBlobs: number;
  /** Files whose content was reused from the parent snapshot without being read. */
  readonly reusedEntries: number;
}

/** A snapshot header. */
export interface SnapshotHeader {
  /** 32 bytes, the resource id. */
  readonly id: Uint8Array;
  /** Unix milliseconds when the backup started. */
  readonly time: number;
  readonly durationMs: number;
  readonly name: string;
  readonly tags: readonly string[];
  readonly hostname: string;
  readonly username: string;
  readonly source: SourceInfo;
  /** The root tree node. */
  readonly root: BlobId;
  readonly summary: SnapshotSummary;
  /** The snapshot whose entries were reused, if any. */
  readonly parent?: Uint8Array;
}

/** Encodes a header as its msgpack map. */
export function encodeHeader(h: SnapshotHeader): Uint8Array {
  const s = h.summary;
  return encodeMsgpack({
    version: 1,
    id: h.id,
    time: wideInt(h.time),
    duration_ms: wideInt(h.durationMs),
    name: h.name,
    tags: h.tags,
    hostname: h.hostname,
    username: h.username,
    source: { protocol: h.source.protocol, origin: h.source.origin, root: h.source.root },
    root: h.root,
    summary: {
      files: wideInt(s.files),
      directories: wideInt(s.directories),
      symlinks: wideInt(s.symlinks),
      errors: wideInt(s.errors),
      bytes: wideInt(s.bytes),
      stored_bytes: wideInt(s.storedBytes),
      new_blobs: wideInt(s.newBlobs),
      reused_entries: wideInt(s.reusedEntries),
    },
    parent: h.parent ?? null,
  });
}

/**
 * Decodes a header. `resourceId` (hex) is the id it was stored under: a header whose `id` differs
 * is refused (a header copied under another name).
 */
export function decodeHeader(bytes: Uint8Array, resourceId: string): SnapshotHeader {
  const what = `snapshot ${resourceId}`;
  const m = readMap(decodeMsgpack(bytes), what);
  const version = readInt(m.version, `${what}: version`);
  if (version !== 1) throw new Error(`${what}: unsupported header version ${version}`);
  const id = readBin(m.id, `${what}: id`, 32);
  if (toHex(id) !== resourceId)
    throw new Error(`${what}: header id ${toHex(id)} does not match the resource id`);
  const src = readMap(m.source, `${what}: source`);
  const sum = readMap(m.summary, `${what}: summary`);
  const n = (v: unknown, k: string) => readInt(v ?? 0, `${what}: summary ${k}`);
  const header: SnapshotHeader = {
    id,
    time: readInt(m.time, `${what}: time`),
    durationMs: readInt(m.duration_ms ?? 0, `${what}: duration_ms`),
    name: readString(m.name, `${what}: name`),
    tags: readArray(m.tags ?? [], `${what}: tags`).map((t) => readString(t, `${what}: tag`)),
    hostname: readString(m.hostname ?? '', `${what}: hostname`),
    username: readString(m.username ?? '', `${what}: username`),
    source: {
      protocol: readString(src.protocol, `${what}: source protocol`),
      origin: readString(src.origin, `${what}: source origin`),
      root: readString(src.root, `${what}: source root`),
    },
    root: readBin(m.root, `${what}: root`, 32),
    summary: {
      files: n(sum.files, 'files'),
      directories: n(sum.directories, 'directories'),
      symlinks: n(sum.symlinks, 'symlinks'),
      errors: n(sum.errors, 'errors'),
      bytes: n(sum.bytes, 'bytes'),
      storedBytes: n(sum.stored_bytes, 'stored_bytes'),
      newBlobs: n(sum.new_blobs, 'new_blobs'),
      reusedEntries: n(sum.reused_entries, 'reused_entries'),
    },
  };
  if (m.parent !== undefined && m.parent !== null) {
    return { ...header, parent: readBin(m.parent, `${what}: parent`, 32) };
  }
  return header;
}

/** True if two source infos name the same source (same protocol, origin and root). */
export function sameSource(a: SourceInfo, b: SourceInfo): boolean {
  return a.protocol === b.protocol && a.origin === b.origin && a.root === b.root;
}
