/**
 * A bounded set of background tasks: at most `limit` run at once, callers wait for a free slot
 * (backpressure), and the first failure is latched and rethrown to every later caller, so work
 * that depended on a failed task can never be reported as done.
 */
export class TaskPool {
  readonly limit: number;
  readonly #what: string;
  #running = 0;
  #waiters: (() => void)[] = [];
  #idleWaiters: (() => void)[] = [];
  #error: unknown;
  #failed = false;

  /** `what` names the tasks in errors, e.g. "packfile upload". */
  constructor(limit: number, what: string) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`${what}: limit must be a positive integer`);
    this.limit = limit;
    this.#what = what;
  }

  /** Tasks running now. */
  get running(): number {
    return this.#running;
  }

  /** The latched failure, if a task failed. */
  get error(): unknown {
    return this.#failed ? this.#error : undefined;
  }

  /** Throws the latched failure, if any. */
  check(): void {
    if (this.#failed) throw this.#error;
  }

  /** True while `limit` tasks (or more) run. */
  get full(): boolean {
    return this.#running >= this.limit;
  }

  /**
   * Resolves when a task ends (or at once if one already failed: `check` then throws). Callers
   * loop `while (pool.full) await pool.changed();` and then act in the same synchronous stretch:
   * checking and starting in one function, with no await between, is what makes the limit hold
   * (an async helper returning after the check would add a hop in which others pass the check too).
   */
  changed(): Promise<void> {
    if (this.#failed) return Promise.resolve();
    return new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  /** Starts `task` now, without waiting for a slot (see `full` and `changed`). */
  start(task: () => Promise<void>): void {
    this.#running++;
    task().then(
      () => this.#done(),
      (err: unknown) => {
        if (!this.#failed) {
          this.#failed = true;
          this.#error = err;
        }
        this.#done();
      },
    );
  }

  /** Waits for a slot, then starts `task`. */
  async run(task: () => Promise<void>): Promise<void> {
    this.check();
    while (this.full) {
      await this.changed();
      this.check();
    }
    this.start(task);
  }

  /** Waits until no task runs, then throws the latched failure, if any. */
  async drain(): Promise<void> {
    while (this.#running > 0) await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    this.check();
  }

  #done(): void {
    this.#running--;
    // Wake every waiter: each re-checks `full`, and one that finds room may not use it (a putBlob
    // that does not fill its packfile), so waking only one could strand the others.
    for (const w of this.#waiters.splice(0)) w();
    if (this.#running === 0) for (const w of this.#idleWaiters.splice(0)) w();
  }

  /** A description for errors. */
  toString(): string {
    return `${this.#what} pool (${this.#running}/${this.limit} running)`;
  }
}
