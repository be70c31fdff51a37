/**
 * A counting semaphore with FIFO waiters, for bounded concurrency (requests, files, writes in
 * flight) and bounded memory (bytes in flight). Shared by the engine and the connectors.
 *
 * `acquire(n)` waits until `n` units are free; waiters are served in arrival order, so a large
 * request is not starved by small ones. A request larger than the capacity is clamped to it, so it
 * can always be granted once everything else is released.
 */
export class Semaphore {
  readonly capacity: number;
  #available: number;
  readonly #waiters: { n: number; resolve: () => void }[] = [];

  constructor(capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`semaphore capacity must be at least 1, got ${capacity}`);
    this.capacity = capacity;
    this.#available = capacity;
  }

  /** Units free right now. */
  get available(): number {
    return this.#available;
  }

  /** Units held right now. */
  get inUse(): number {
    return this.capacity - this.#available;
  }

  /** Takes `n` units (clamped to 0..capacity), waiting for them in FIFO order; resolves with the units taken. */
  acquire(n = 1): Promise<number> {
    const units = Math.min(Math.max(n, 0), this.capacity);
    if (this.#waiters.length === 0 && this.#available >= units) {
      this.#available -= units;
      return Promise.resolve(units);
    }
    return new Promise((resolve) => {
      this.#waiters.push({ n: units, resolve: () => resolve(units) });
    });
  }

  /** Gives back units taken by `acquire` (pass the value it resolved with). */
  release(units = 1): void {
    this.#available = Math.min(this.capacity, this.#available + units);
    while (this.#waiters.length > 0 && this.#available >= this.#waiters[0]!.n) {
      const w = this.#waiters.shift()!;
      this.#available -= w.n;
      w.resolve();
    }
  }

  /** Runs `fn` holding `n` units, and gives them back when it settles. */
  async use<T>(fn: () => Promise<T>, n = 1): Promise<T> {
    const units = await this.acquire(n);
    try {
      return await fn();
    } finally {
      this.release(units);
    }
  }
}
