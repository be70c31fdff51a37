/**
 * Sealed resources (FORMAT.md §1): snapshot headers and locks, stored as
 * `object_salt(32) || sealed body`. The repository implements this; locks and the snapshot engine
 * build on it.
 */

/** Kinds of sealed resources callers may manage (states are the repository's own business). */
export type SealedKind = 'snapshot' | 'lock';

/** Put, get, list and delete sealed resources by kind and 32-byte id. */
export interface ResourceStore {
  /** Seals `body` (compressed when it pays) under a fresh object key and puts it, replacing any same id. */
  putResource(kind: SealedKind, id: Uint8Array, body: Uint8Array): Promise<void>;
  /**
   * Gets and opens a resource. Throws ConnectorError `not_found` if absent, CorruptResourceError if
   * it fails authentication (which includes being stored under another kind or id).
   */
  getResource(kind: SealedKind, id: Uint8Array): Promise<Uint8Array>;
  /** Ids of the resources of `kind`, streamed; order unspecified. */
  listResources(kind: SealedKind): AsyncIterable<Uint8Array>;
  /** Deletes a resource; deleting an absent one succeeds. */
  deleteResource(kind: SealedKind, id: Uint8Array): Promise<void>;
  /** 32 fresh random bytes for a new resource id. */
  newResourceId(): Uint8Array;
}
