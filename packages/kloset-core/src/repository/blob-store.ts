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
   * True when every blob the snapshot references is known to be in the index without a lookup
   * each: a backup through this index wrote it (having stored or found each of its blobs), and no
   * blob left the index since (no packfile deleted or found missing, no corrupt blob dropped).
   * Optional: absent means unknown (the caller looks each blob up).
   */
  snapshotBlobsIndexed?(snapshotId: Uint8Array): boolean;
  /** Records that a backup wrote `snapshotId` with every blob it references in the index. */
  recordSnapshotIndexed?(snapshotId: Uint8Array): void;
  /**
   * Compares the index with the packfiles in storage: indexed packfiles that are gone (a damaged
   * store) leave the index, so that nothing is deduplicated against them and backups store their
   * data again. Resolves with the ids (hex) of the packfiles newly found missing.
   */
  dropMissingPackfiles?(): Promise<string[]>;
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
