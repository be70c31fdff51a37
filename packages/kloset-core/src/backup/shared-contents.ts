/**
 * The pairs of records of one scan that have the same content (SourceRecord.sharedContent): the
 * first of a pair leaves here what it was stored with, the second takes it instead of opening its
 * own content. At most `capacity` firsts are remembered (the oldest forgotten first: its second is
 * then opened as any record); a second takes its first's result out, so what is held is the pairs
 * whose second has not come yet.
 */
import type { EntryMetadata } from '@kloset/connector-contract';
import type { ChunkRef } from '../snapshot/entry.ts';

/** What the first record of a pair was stored with; `error` when its content could not be read. */
export type SharedResult =
  | {
      readonly chunks: readonly ChunkRef[];
      readonly size: number;
      /** The first record's complete metadata. */
      readonly metadata: EntryMetadata;
    }
  | { readonly error: string };

/** Pairs remembered at most: a pair's two records come within a few records of each other. */
const DEFAULT_CAPACITY = 16_384;

export class SharedContents {
  readonly #firsts = new Map<string, Promise<SharedResult>>();
  readonly #capacity: number;

  constructor(capacity = DEFAULT_CAPACITY) {
    this.#capacity = capacity;
  }

  /** Pairs whose first is remembered. */
  get size(): number {
    return this.#firsts.size;
  }

  /**
   * The result of the first record with `key` when this record is the second (and forgets it);
   * undefined when this record is the first (or its first was forgotten): it then leaves its own
   * result with `first`.
   */
  takeFirst(key: string): Promise<SharedResult> | undefined {
    const first = this.#firsts.get(key);
    if (first !== undefined) this.#firsts.delete(key);
    return first;
  }

  /** Leaves the result of a first record (a promise that never rejects). */
  first(key: string, result: Promise<SharedResult>): void {
    this.#firsts.set(key, result);
    if (this.#firsts.size > this.#capacity) {
      const oldest = this.#firsts.keys().next().value;
      if (oldest !== undefined) this.#firsts.delete(oldest);
    }
  }
}
