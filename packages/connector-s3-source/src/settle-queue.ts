/**
 * Promises in flight, taken back in the order they settle. Each costs O(1) (no `Promise.race`
 * over all of them per take, which a scan with `concurrency` objects in flight did per record).
 */
export class SettleQueue<T> {
  #running = 0;
  /** Settled, not yet taken: at most as many as were added. */
  readonly #settled: PromiseSettledResult<T>[] = [];
  #wake: (() => void) | undefined;

  /** Promises added and not yet taken. */
  get size(): number {
    return this.#running + this.#settled.length;
  }

  add(p: Promise<T>): void {
    this.#running++;
    const settle = (r: PromiseSettledResult<T>): void => {
      this.#running--;
      this.#settled.push(r);
      const wake = this.#wake;
      this.#wake = undefined;
      wake?.();
    };
    p.then(
      (value) => settle({ status: 'fulfilled', value }),
      (reason: unknown) => settle({ status: 'rejected', reason }),
    );
  }

  /** The value of the first promise to settle not yet taken; throws its reason if it rejected. */
  async take(): Promise<T> {
    if (this.size === 0) throw new Error('SettleQueue.take: nothing in flight');
    while (this.#settled.length === 0) {
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
    const r = this.#settled.shift()!;
    if (r.status === 'rejected') throw r.reason;
    return r.value;
  }
}
