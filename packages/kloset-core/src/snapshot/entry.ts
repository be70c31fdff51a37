/**
 * What a snapshot keeps for each entry (docs/FORMAT.md §8.2): the attributes handed to
 * destinations, plus the change token, the content (a chunk list) and an error, if any.
 */
import type { EntryAttributes } from '@kloset/connector-contract';
import type { BlobId } from '../repository/blob-store.ts';

/** One chunk of a file's content, in content order. */
export interface ChunkRef {
  /** The chunk blob's id (kind Chunk). */
  readonly id: BlobId;
  /** Plaintext length of the chunk in bytes. */
  readonly length: number;
}

/** An entry of a snapshot tree. */
export interface SnapshotEntry extends EntryAttributes {
  /** The source's change token, kept for reuse by the next backup (§8.3). */
  readonly changeToken?: string;
  /** The content of a file; empty for empty files, directories, symlinks and failed entries. */
  readonly chunks: readonly ChunkRef[];
  /** Why the entry could not be backed up; such an entry has no content. */
  readonly error?: string;
}
