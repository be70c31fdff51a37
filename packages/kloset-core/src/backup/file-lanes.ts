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
import { Fifo } from './fifo.ts';

export class FileLanes {
  readonly capacity: number;
  readonly #small = new Fifo<SourceRecord>();
  readonly #large = new Fifo<SourceRecord>();

  constructor(capacity: number) {
    this.capacity = Math.max(1, capacity);
  }

  /** Records waiting. */
  get size(): number {
    return this.#small.size + this.#large.size;
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
    const large = largeSlotFree ? this.#large.shift() : undefined;
    if (large !== undefined) return { record: large, large: true };
    const small = this.#small.shift();
    return small === undefined ? undefined : { record: small, large: false };
  }
}
