/**
 * The seam between the repository (packfiles, index, storage) and the engines that use it
 * (snapshot trees, backup, restore, check). Engines depend on this interface only, so they can be
 * tested on an in-memory implementation and the repository can evolve behind it.
 */

/** Blob kinds, as in docs/FORMAT.md §4.3. */
export const BlobKind = { Chunk: 1, Tree: 2 } as const;
export type BlobKind = (typeof BlobKind)[keyof typeof BlobKind];

/** A blob id: 32 bytes, HMAC-SHA-256(K_mac, plaintext). */
export type BlobId = Uint8Array;

export interface PutBlobResult {
  readonly id: BlobId;
  /** False when the blob was already in the store (deduplicated): nothing was written. */
  readonly stored: boolean;
  /** Bytes added to packfiles for this blob (after compression and encryption); 0 if deduplicated. */
  readonly storedBytes: number;
}

export interface BlobLocation {
  readonly kind: BlobKind;
  readonly id: BlobId;
  readonly packfile: BlobId;
  readonly offset: number;
  readonly length: number;
  readonly rawLength: number;
}

export interface BlobStore {
  /** The keyed id of `data` (does not store anything). */
  blobId(data: Uint8Array): BlobId;
  /** True if the blob is in the store or pending in this session. */
  hasBlob(kind: BlobKind, id: BlobId): boolean;
  /**
   * True when no packfile of the store was ever deleted, as far as the index knows (maintenance
   * records every deletion in a state). A snapshot is committed only once all its blobs are, so
   * every blob a snapshot references is then still in the store. Optional: absent means unknown.
   */
  noPackfileDeleted?(): boolean;
  /**
   * Stores a blob unless already present: compresses when it pays, encrypts, appends to the open
   * packfile; full packfiles are uploaded in the background with bounded concurrency, so this may
   * wait (backpressure). The blob is durable only after `flush`.
   */
  putBlob(kind: BlobKind, data: Uint8Array): Promise<PutBlobResult>;
  /** Reads, decrypts, decompresses and verifies a blob (GCM tag and MAC); throws on corruption. */
  getBlob(kind: BlobKind, id: BlobId): Promise<Uint8Array>;
  /** Where a blob lives, or undefined. */
  locateBlob(kind: BlobKind, id: BlobId): BlobLocation | undefined;
  /** Uploads pending packfiles and writes the state that indexes them. */
  flush(): Promise<void>;
}
