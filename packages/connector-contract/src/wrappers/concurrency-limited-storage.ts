/** ConcurrencyLimitedStorage: bounds how many calls reach another Storage at once. */

import { Semaphore } from '../concurrency/semaphore.ts';
import type {
  ByteRange,
  LeftoverRemoval,
  PutData,
  ResourceInfo,
  ResourceKind,
  Storage,
  StorageMode,
} from '../storage/storage.ts';

/** Options of ConcurrencyLimitedStorage. */
export interface ConcurrencyLimitOptions {
  /** Calls allowed in flight at once (at least 1). */
  readonly maxConcurrent: number;
}

/**
 * A Storage that forwards to `inner` with at most `maxConcurrent` calls in flight; further calls
 * wait in FIFO order. A listing holds a slot only while it fetches its next item (not while the
 * caller handles the items), so a caller may `get` inside a `for await` over `list` without
 * deadlock. `close` is not limited.
 */
export class ConcurrencyLimitedStorage implements Storage {
  readonly #inner: Storage;
  readonly #slots: Semaphore;
  /** Present when `inner` has it, limited as the other calls. */
  readonly removeLeftovers?: (olderThanMs: number) => Promise<LeftoverRemoval>;
  /** Present when `inner` has it, limited as the other calls. */
  readonly replaceConfig?: (config: Uint8Array) => Promise<void>;

  constructor(inner: Storage, options: ConcurrencyLimitOptions) {
    this.#inner = inner;
    if (!Number.isInteger(options.maxConcurrent) || options.maxConcurrent < 1) {
      throw new RangeError(`maxConcurrent must be an integer >= 1, got ${options.maxConcurrent}`);
    }
    this.#slots = new Semaphore(options.maxConcurrent);
    const removeLeftovers = inner.removeLeftovers?.bind(inner);
    if (removeLeftovers !== undefined) {
      this.removeLeftovers = (olderThanMs) => this.#slots.use(() => removeLeftovers(olderThanMs));
    }
    const replaceConfig = inner.replaceConfig?.bind(inner);
    if (replaceConfig !== undefined) {
      this.replaceConfig = (config) => this.#slots.use(() => replaceConfig(config));
    }
  }

  /** Calls in flight in the inner storage right now. */
  get inFlight(): number {
    return this.#slots.inUse;
  }

  get location(): string {
    return this.#inner.location;
  }

  get mode(): StorageMode {
    return this.#inner.mode;
  }

  create(config: Uint8Array): Promise<void> {
    return this.#slots.use(() => this.#inner.create(config));
  }

  open(): Promise<Uint8Array> {
    return this.#slots.use(() => this.#inner.open());
  }

  put(kind: ResourceKind, id: string, data: PutData): Promise<void> {
    return this.#slots.use(() => this.#inner.put(kind, id, data));
  }

  get(kind: ResourceKind, id: string, range?: ByteRange): Promise<Uint8Array> {
    return this.#slots.use(() => this.#inner.get(kind, id, range));
  }

  async *list(kind: ResourceKind): AsyncIterable<ResourceInfo> {
    const iterator = this.#inner.list(kind)[Symbol.asyncIterator]();
    let done = false;
    try {
      for (;;) {
        const next = await this.#slots.use(() => iterator.next());
        if (next.done) {
          done = true;
          return;
        }
        yield next.value;
      }
    } finally {
      if (!done) await iterator.return?.();
    }
  }

  delete(kind: ResourceKind, id: string): Promise<void> {
    return this.#slots.use(() => this.#inner.delete(kind, id));
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
