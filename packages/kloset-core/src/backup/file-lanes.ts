/**
 * Files waiting for a slot to be stored, in two lanes: small ones (at most the chunker's minimum
 * chunk: one blob each) and large ones. A source lists its entries in key order, and runs of one
 * kind are common (thousands of small logs, then media files). Taken in listing order, such runs
 * take turns: a run of small objects of a bucket keeps the S3 server busy (a request each) while
 * this process idles, then a run of large ones keeps this process busy (chunking, MACs,
 * compression) while the server idles. With a lane per kind, a free large-file slot takes the next
 * large file even when thousands of small ones come before it, so the two overlap.
 *
 * Memory: at most `capacity` records wait in the lanes (the caller stops pulling from the source
 * when they are full).
 */
import type { SourceRecord } from '@kloset/connector-contract';

export class FileLanes {
  readonly capacity: number;
  readonly #small: SourceRecord[] = [];
  readonly #large: SourceRecord[] = [];
  /** Read positions: taken records are dropped from the front in batches, not one shift each. */
  #smallAt = 0;
  #largeAt = 0;

  constructor(capacity: number) {
    this.capacity = Math.max(1, capacity);
  }

  /** Records waiting. */
  get size(): number {
    return this.#small.length - this.#smallAt + this.#large.length - this.#largeAt;
  }

  get full(): boolean {
    return this.size >= this.capacity;
  }

  push(record: SourceRecord, large: boolean): void {
    (large ? this.#large : this.#small).push(record);
  }

  /**
   * The record to start next: the oldest large one when `largeSlotFree`, else the oldest small one
   * (a large one never waits for a small one, nor a small one for a large slot); undefined if none
   * can start.
   */
  take(largeSlotFree: boolean): { record: SourceRecord; large: boolean } | undefined {
    if (largeSlotFree && this.#largeAt < this.#large.length) {
      const record = this.#large[this.#largeAt++]!;
      if (this.#largeAt >= 1024 && this.#largeAt * 2 >= this.#large.length) {
        this.#large.splice(0, this.#largeAt);
        this.#largeAt = 0;
      }
      return { record, large: true };
    }
    if (this.#smallAt < this.#small.length) {
      const record = this.#small[this.#smallAt++]!;
      if (this.#smallAt >= 1024 && this.#smallAt * 2 >= this.#small.length) {
        this.#small.splice(0, this.#smallAt);
        this.#smallAt = 0;
      }
      return { record, large: false };
    }
    return undefined;
  }
}
