/** A counting semaphore with a FIFO queue of waiters. */
export class Semaphore {
  readonly #limit: number;
  #active = 0;
  readonly #waiters: (() => void)[] = [];

  /** `limit` is the number of holders allowed at once (at least 1). */
  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`semaphore limit must be an integer >= 1, got ${limit}`);
    this.#limit = limit;
  }

  /** How many holders there are now. */
  get active(): number {
    return this.#active;
  }

  /** Runs `fn` once a slot is free, and frees the slot when it settles. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#active >= this.#limit) await new Promise<void>((resolve) => this.#waiters.push(resolve));
    else this.#active++;
    try {
      return await fn();
    } finally {
      const next = this.#waiters.shift();
      if (next) next();
      else this.#active--;
    }
  }
}
