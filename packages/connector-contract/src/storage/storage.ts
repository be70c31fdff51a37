/**
 * Storage keeps the bytes of a Kloset store: a config, and resources of a few kinds addressed by
 * id. It knows nothing of their content (all of it is encrypted by the core).
 */
import { ConnectorError } from '../errors/connector-error.ts';

/**
 * The kinds of resources. Ids are lowercase hex strings of 64 characters (32 bytes) for every kind.
 * - `packfile`: packed blobs, written once, read with ranges, deleted by maintenance.
 * - `state`: index deltas (which blob is in which packfile), written once.
 * - `snapshot`: snapshot headers, written once, deleted by `rm`.
 * - `lock`: locks, written (and rewritten to refresh) and deleted by their owner.
 */
export type ResourceKind = 'packfile' | 'state' | 'snapshot' | 'lock';
export const RESOURCE_KINDS: readonly ResourceKind[] = ['packfile', 'state', 'snapshot', 'lock'];

export interface ResourceInfo {
  readonly id: string;
  readonly size: number;
  /**
   * When the resource was put (Unix ms), if the backend tells it (a file's mtime, an object's
   * LastModified). Maintenance uses it for the age of packfiles no state lists; without it such
   * packfiles are never deleted.
   */
  readonly modified?: number;
}

export interface ByteRange {
  readonly offset: number;
  readonly length: number;
  /**
   * For `get`: a buffer of at least `length` bytes that the storage may read the range into, so
   * that a reader can reuse its memory instead of getting a new array per read. Optional for the
   * storage: it may ignore it and return a new array. Ignored when shorter than `length`.
   */
  readonly into?: Uint8Array;
}

/**
 * A body to upload that can be opened more than once (a retry opens it again). `size` is exact.
 */
export interface PutBody {
  readonly size: number;
  open(): AsyncIterable<Uint8Array>;
}

export type PutData = Uint8Array | PutBody;

export type StorageMode = 'read-write' | 'read-only';

/**
 * Contract, method by method. Errors are ConnectorError with the codes of errors/connector-error.ts.
 *
 * - `create(config)`: makes a new, empty store and saves `config` (opaque bytes). Fails with
 *   `already_exists` if a store (a config) is already there: it never overwrites one. Where the
 *   backend allows, the check and the write are one atomic conditional create.
 * - `open()`: returns the config bytes exactly as given to `create`. Fails with `not_found` if
 *   there is no store at this location.
 * - `put(kind, id, data)`: stores a resource. Atomic: a reader sees either nothing or the whole
 *   resource, never a part, even if the writer dies midway. Putting an existing id replaces it
 *   atomically (only locks are ever rewritten). Resolves only once the resource is durable.
 *   A PutBody that yields a different number of bytes than its `size` fails with `invalid` and
 *   stores nothing; an error thrown by the body propagates and stores nothing.
 * - `get(kind, id, range?)`: the whole resource or exactly `range.length` bytes from
 *   `range.offset`. Fails with `not_found` if absent, with `invalid` if the range goes past the end.
 *   With `range.into`, the result is either `range.into.subarray(0, range.length)` (the bytes were
 *   read into it) or a new array; the caller accepts both. `into`'s content after a failed get is
 *   unspecified; once get settles, the storage no longer writes into it.
 * - `list(kind)`: every resource of that kind that was completely put before `list` was called
 *   and not deleted since. Resources put or deleted while listing may or may not appear; a listed
 *   resource may be gone by the time it is read (then `get` fails with `not_found`). Never lists a
 *   partially written resource. Order is unspecified. Streams: memory does not grow with the count.
 *   Each item has the resource's size and, when the backend knows it, `modified` (the time of
 *   its put, by the backend's clock).
 * - `replaceConfig(config)` (optional): replaces the config of an existing store with `config`,
 *   atomically: an `open` at any instant, even if the writer dies midway, returns the old bytes or
 *   the new ones, never a mix and never nothing. Resolves once the new config is durable. Fails
 *   with `not_found` if there is no store (it never creates one). Only `passphrase change` calls it
 *   (the one part of a config that may change, FORMAT.md §3.1), under the store's exclusive lock.
 *   Storages that cannot replace an object atomically omit it.
 * - `delete(kind, id)`: removes the resource. Deleting an absent resource succeeds (idempotent).
 * - `mode`: `read-only` storages fail every put/delete/create/replaceConfig with `permission`.
 * - `close()`: releases resources; no call follows.
 * - `removeLeftovers(olderThanMs)` (optional): removes what this store's own interrupted puts left
 *   behind, invisible to `get` and `list`: temporary files of a local store, incomplete multipart
 *   uploads of a bucket. Only leftovers whose age is at least `olderThanMs` (by the backend's
 *   clock: a file's last modification, an upload's initiation) are removed; `olderThanMs` is a
 *   finite number >= 0, anything else fails with `invalid`. It never removes, changes or hides a
 *   resource, the config, or anything that is not this store's (other files or keys around it).
 *   Safety rests on the age alone: a put still running has a leftover younger than its own
 *   duration, so callers pass a grace period far longer than any put (maintenance: 24 h by
 *   default). A put whose leftover is removed while it runs (a grace shorter than the put) fails
 *   and stores nothing, as any failed put. Resolves with how many leftovers were removed and
 *   their bytes (as far as the backend tells them); a leftover removed by someone else meanwhile
 *   is not counted. Idempotent; `read-only` storages fail with `permission`. Storages whose puts
 *   leave nothing behind may omit it. A storage whose deletes keep the object's data under a
 *   retention (Object Lock) also does its upkeep here (RetentionUpkeep): versions hidden by a
 *   delete for at least `olderThanMs` are removed once their retention has ended (never before),
 *   and the retention of objects in use is extended; their content never changes.
 *
 * Transient failures (network, 5xx, throttling) surface as `transient`/`unavailable` errors;
 * retrying is done by wrappers (wrappers/retry-storage.ts), not inside the connector.
 * Every method may be called concurrently with any other.
 */
export interface Storage {
  readonly location: string;
  readonly mode: StorageMode;
  create(config: Uint8Array): Promise<void>;
  open(): Promise<Uint8Array>;
  replaceConfig?(config: Uint8Array): Promise<void>;
  put(kind: ResourceKind, id: string, data: PutData): Promise<void>;
  get(kind: ResourceKind, id: string, range?: ByteRange): Promise<Uint8Array>;
  list(kind: ResourceKind): AsyncIterable<ResourceInfo>;
  delete(kind: ResourceKind, id: string): Promise<void>;
  close(): Promise<void>;
  removeLeftovers?(olderThanMs: number): Promise<LeftoverRemoval>;
}

/** What `Storage.removeLeftovers` removed. */
export interface LeftoverRemoval {
  /** Leftovers removed (temporary files, incomplete uploads). */
  readonly count: number;
  /** Their bytes (for an upload: the bytes of its uploaded parts). */
  readonly bytes: number;
  /** Storages that keep deleted objects under a retention (Object Lock): what became of them. */
  readonly retention?: RetentionUpkeep;
}

/**
 * The upkeep of a store whose objects are retained (an S3 bucket with Object Lock, FORMAT.md §12),
 * done by its `removeLeftovers`: a delete there only hides an object (a delete marker), its
 * version stays until its retention ends. The versions of deleted or replaced objects, hidden for
 * at least the grace period, are removed once their retention has ended (`reclaimed`), or kept
 * until then (`kept`); objects in use whose retention would end soon have it extended.
 */
export interface RetentionUpkeep {
  readonly reclaimed: number;
  readonly reclaimedBytes: number;
  readonly kept: number;
  readonly keptBytes: number;
  /** When the last kept version's retention ends (Unix ms), if any is kept. */
  readonly keptUntil?: number;
  /** Objects in use whose retention was extended. */
  readonly extended: number;
}

export const RESOURCE_ID_PATTERN = /^[0-9a-f]{64}$/;

export function isPutBody(data: PutData): data is PutBody {
  return !(data instanceof Uint8Array);
}

/** A PutBody over bytes in memory. */
export function bytesBody(bytes: Uint8Array): PutBody {
  return {
    size: bytes.length,
    async *open() {
      yield bytes;
    },
  };
}

/**
 * Reads a PutData fully (for backends that need the bytes at once). A body that yields more or
 * fewer bytes than its `size` fails with ConnectorError `invalid`.
 */
export async function putDataBytes(data: PutData): Promise<Uint8Array> {
  if (data instanceof Uint8Array) return data;
  const out = new Uint8Array(data.size);
  let off = 0;
  for await (const part of data.open()) {
    if (off + part.length > out.length) {
      throw new ConnectorError('invalid', `put body longer than its declared size ${data.size}`);
    }
    out.set(part, off);
    off += part.length;
  }
  if (off !== out.length) {
    throw new ConnectorError(
      'invalid',
      `put body shorter (${off} bytes) than its declared size ${data.size}`,
    );
  }
  return out;
}

/**
 * Checks the argument of `removeLeftovers`: a finite number >= 0, or ConnectorError `invalid`
 * naming the storage.
 */
export function checkLeftoverAge(olderThanMs: number, location: string): void {
  if (typeof olderThanMs !== 'number' || !Number.isFinite(olderThanMs) || olderThanMs < 0) {
    throw new ConnectorError(
      'invalid',
      `removeLeftovers on ${location}: the age must be a finite number of milliseconds >= 0, not ${String(olderThanMs)}`,
      { op: 'removeLeftovers', container: location },
    );
  }
}
