/** Bounded concurrency and bounded memory: a counting semaphore with FIFO fairness. */

/**
 * Hands out up to `capacity` units. `acquire(n)` waits until n units are free; waiters are served in
 * arrival order, so a large request is not starved by small ones.
 */
export class Semaphore {
  readonly capacity: number;
  #free: number;
  readonly #waiters: { n: number; resolve: () => void }[] = [];

  constructor(capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`semaphore capacity must be at least 1, got ${capacity}`);
    this.capacity = capacity;
    this.#free = capacity;
  }

  /** Units free right now. */
  get available(): number {
    return this.#free;
  }

  /** Waits for `n` units (clamped to the capacity, so a request can always be met). */
  async acquire(n = 1): Promise<number> {
    const units = Math.min(Math.max(n, 0), this.capacity);
    if (this.#waiters.length === 0 && this.#free >= units) {
      this.#free -= units;
      return units;
    }
    await new Promise<void>((resolve) => this.#waiters.push({ n: units, resolve }));
    return units;
  }

  /** Gives back units obtained from acquire (pass what acquire returned). */
  release(n = 1): void {
    this.#free = Math.min(this.capacity, this.#free + n);
    while (this.#waiters.length > 0) {
      const head = this.#waiters[0]!;
      if (head.n > this.#free) break;
      this.#free -= head.n;
      this.#waiters.shift();
      head.resolve();
    }
  }

  /** Runs `fn` holding `n` units. */
  async use<T>(fn: () => Promise<T>, n = 1): Promise<T> {
    const units = await this.acquire(n);
    try {
      return await fn();
    } finally {
      this.release(units);
    }
  }
}
