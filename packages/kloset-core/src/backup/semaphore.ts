/**
 * A counting semaphore with FIFO waiters: bounds things in flight (files, writes) or bytes in
 * flight (chunks awaiting storage). A request larger than the capacity is clamped to it, so it
 * can always be granted once everything else is released.
 */
export class Semaphore {
  readonly capacity: number;
  #available: number;
  readonly #waiters: { n: number; resolve: () => void }[] = [];

  constructor(capacity: number) {
    if (!(capacity >= 1)) throw new Error(`semaphore capacity must be at least 1, got ${capacity}`);
    this.capacity = capacity;
    this.#available = capacity;
  }

  /** Units currently available. */
  get available(): number {
    return this.#available;
  }

  /** Takes `n` units (clamped to the capacity), waiting for them in FIFO order. */
  acquire(n = 1): Promise<number> {
    const units = Math.min(n, this.capacity);
    if (this.#waiters.length === 0 && this.#available >= units) {
      this.#available -= units;
      return Promise.resolve(units);
    }
    return new Promise((resolve) => {
      this.#waiters.push({ n: units, resolve: () => resolve(units) });
    });
  }

  /** Returns units taken by `acquire` (pass the value it resolved with). */
  release(units = 1): void {
    this.#available += units;
    while (this.#waiters.length > 0 && this.#available >= this.#waiters[0]!.n) {
      const w = this.#waiters.shift()!;
      this.#available -= w.n;
      w.resolve();
    }
  }
}
