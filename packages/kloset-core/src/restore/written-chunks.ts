/**
 * Where chunks already restored can be read back: a restore that meets a chunk a second time (a
 * duplicate file, a file that shares most chunks with another) reads it from the file that holds
 * it (Destination.readWritten) instead of fetching, decrypting and verifying it again, as restic
 * writes one fetched blob to every file that needs it. Bounded: at most `maxEntries` chunks are
 * remembered (the most recently restored), only those of at least `minLength` bytes (a small
 * chunk costs less to fetch with its neighbours than a read of its own).
 */
import type { EntryPath } from '@kloset/connector-contract';
import { toHex } from '../encoding/bytes.ts';
import type { BlobId } from '../repository/blob-store.ts';
import type { ChunkRef } from '../snapshot/entry.ts';

/** A restored file holding a chunk, and where in it. */
export interface WrittenChunk {
  readonly path: EntryPath;
  readonly offset: number;
}

export class WrittenChunks {
  readonly #where = new Map<string, WrittenChunk>();
  readonly #maxEntries: number;
  readonly #minLength: number;

  constructor(maxEntries = 65_536, minLength = 64 * 1024) {
    this.#maxEntries = maxEntries;
    this.#minLength = minLength;
  }

  /** Chunks remembered. */
  get size(): number {
    return this.#where.size;
  }

  /** Records the chunks of a file that was restored (written ok) at `path`. */
  record(path: EntryPath, chunks: readonly ChunkRef[]): void {
    let offset = 0;
    for (const c of chunks) {
      if (c.length >= this.#minLength) {
        const key = toHex(c.id);
        // Re-inserted: the newest copy is the last to be forgotten.
        this.#where.delete(key);
        this.#where.set(key, { path, offset });
      }
      offset += c.length;
    }
    for (const key of this.#where.keys()) {
      if (this.#where.size <= this.#maxEntries) break;
      this.#where.delete(key);
    }
  }

  /** Where chunk `id` was restored, or undefined. */
  find(id: BlobId): WrittenChunk | undefined {
    return this.#where.get(toHex(id));
  }

  /** Forgets chunk `id` (its copy could not be read back). */
  forget(id: BlobId): void {
    this.#where.delete(toHex(id));
  }
}
