/**
 * What the engines (backup, restore, check, ls, rm) need of a repository: blobs (BlobStore),
 * sealed resources for snapshot headers and locks (ResourceStore), the store's chunking setup,
 * and optionally coalesced verified reads and the list of packfiles. `Repository` implements it;
 * tests use an in-memory double.
 */
import type { ChunkingParams } from '../chunking/fastcdc.ts';
import type { BlobReadResult, ReadBlobsOptions } from '../repository/blob-reader.ts';
import type { BlobId, BlobKind, BlobStore } from '../repository/blob-store.ts';
import type { ResourceStore } from '../repository/resource-store.ts';

export type { BlobReadResult, ReadBlobsOptions };

/** The repository as the engines see it. */
export interface EngineRepository extends BlobStore, ResourceStore {
  /** The store's chunking parameters (FORMAT.md §2). */
  readonly config: { readonly chunking: ChunkingParams };
  /** The store's keys; the engines use only the chunker's keyed gear table (FORMAT.md §7). */
  readonly keyRing: { readonly gear: Uint32Array };
  /**
   * Reads many blobs with coalesced ranged reads, every blob verified; yields one result per id
   * (with its index in `ids`), grouped by packfile rather than in the order of `ids`.
   */
  getBlobs?(
    kind: BlobKind,
    ids: readonly BlobId[],
    options?: ReadBlobsOptions,
  ): AsyncIterable<BlobReadResult>;
  /**
   * Reusable read buffers (those `getBlobs` reads into with `pooled`) for other reads whose data
   * is given back once written: `take` a buffer of at least `length` bytes, `give` it back when
   * nothing reads it any more.
   */
  readonly readBuffers?: {
    take(length: number): Uint8Array;
    give(bytes: Uint8Array): void;
  };
  /** The packfiles present in storage, whether indexed or not (for check). */
  listPackfiles(): AsyncIterable<{ readonly id: Uint8Array; readonly size: number }>;
}
