/**
 * The pairs of records of one scan that have the same content (SourceRecord.sharedContent): the
 * first of a pair leaves here what it was stored with, the second takes it instead of opening its
 * own content. At most `capacity` firsts are remembered (the oldest forgotten first: its second is
 * then opened as any record); a second takes its first's result out, so what is held is the pairs
 * whose second has not come yet.
 */
import type { EntryMetadata, SourceRecord } from '@kloset/connector-contract';
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
  /** The firsts being read, and how to hand their result to their second. */
  readonly #reading = new Map<SourceRecord, (result: SharedResult) => void>();
  readonly #capacity: number;

  constructor(capacity = DEFAULT_CAPACITY) {
    this.#capacity = capacity;
  }

  /** Pairs whose first is remembered. */
  get size(): number {
    return this.#firsts.size;
  }

  /**
   * The result of the first of `record`'s pair when `record` is its second (the first is then
   * forgotten); undefined when `record` has no pair, or is the first (or its first was forgotten).
   */
  takeFirst(record: SourceRecord): Promise<SharedResult> | undefined {
    const key = record.sharedContent?.key;
    const first = key === undefined ? undefined : this.#firsts.get(key);
    if (first !== undefined) this.#firsts.delete(key!);
    return first;
  }

  /** `record`, with a pair and not its second, is about to be read: its result is `settle`d later. */
  reading(record: SourceRecord): void {
    const key = record.sharedContent?.key;
    if (key === undefined) return;
    this.#remember(key, new Promise<SharedResult>((resolve) => this.#reading.set(record, resolve)));
  }

  /** Hands the result of a record `reading` announced to its second (nothing for any other record). */
  settle(record: SourceRecord, result: SharedResult): void {
    const resolve = this.#reading.get(record);
    if (resolve === undefined) return;
    this.#reading.delete(record);
    resolve(result);
  }

  /**
   * `record` was stored with the previous snapshot's chunks: when it is the first of its pair, its
   * second takes them; when it is the second, its first is forgotten.
   */
  reused(record: SourceRecord, chunks: readonly ChunkRef[], size: number): void {
    const key = record.sharedContent?.key;
    if (key === undefined || this.takeFirst(record) !== undefined) return;
    this.#remember(key, Promise.resolve({ chunks, size, metadata: record.metadata }));
  }

  /** The records announced as `reading` that will never be read (the backup stops): `error`. */
  abandon(error: string): void {
    for (const resolve of this.#reading.values()) resolve({ error });
    this.#reading.clear();
  }

  #remember(key: string, result: Promise<SharedResult>): void {
    this.#firsts.set(key, result);
    if (this.#firsts.size > this.#capacity) {
      const oldest = this.#firsts.keys().next().value;
      if (oldest !== undefined) this.#firsts.delete(oldest);
    }
  }
}
