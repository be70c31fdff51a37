/**
 * Runs the backup's file jobs: files wait in the lanes (file-lanes.ts) and start as slots free up,
 * at most `slots` at once and of them at most `largeSlots` large files.
 *
 * One mechanism, no lost wake-up: a job that finishes gives its slots back, starts the next
 * waiting files itself, then wakes every waiter. A waiter tests its condition and registers in
 * the same synchronous step, so no completion can fall between the test and the wait; and since
 * finished jobs start the next ones, files never sit in the lanes with free slots and nothing
 * running (the bug this replaces: a job that ended while nobody waited left its wake-up unused,
 * and the final wait for the lanes to drain never returned, so Node exited 13 with no line).
 */
import type { SourceRecord } from '@kloset/connector-contract';
import { FileLanes } from './file-lanes.ts';

export interface FileSchedulerOptions {
  /** Files stored at once. */
  readonly slots: number;
  /** Large files stored at once (each holds up to a maximum chunk while it is cut). */
  readonly largeSlots: number;
  /** Records waiting at most (the caller stops pulling from the source while `full`). */
  readonly capacity: number;
  /** Stores one file; must not reject (it records its own failures). */
  readonly run: (record: SourceRecord) => Promise<void>;
  /** When true, waiting files are no longer started (a job failed, or the backup is aborted). */
  readonly stopped: () => boolean;
}

export class FileScheduler {
  readonly #options: FileSchedulerOptions;
  readonly #lanes: FileLanes;
  #running = 0;
  #runningLarge = 0;
  readonly #waiters: (() => void)[] = [];
  readonly #jobs = new Set<Promise<void>>();

  constructor(options: FileSchedulerOptions) {
    this.#options = {
      ...options,
      slots: Math.max(1, options.slots),
      largeSlots: Math.max(1, Math.min(options.largeSlots, options.slots)),
    };
    this.#lanes = new FileLanes(options.capacity);
  }

  /** Files running now. */
  get running(): number {
    return this.#running;
  }

  /** Files waiting for a slot. */
  get waiting(): number {
    return this.#lanes.size;
  }

  get full(): boolean {
    return this.#lanes.full;
  }

  /** Queues a file and starts what can start. */
  push(record: SourceRecord, large: boolean): void {
    this.#lanes.push(record, large);
    this.#startReady();
  }

  /** Resolves once fewer than `capacity` records wait, or the scheduler is stopped. */
  async untilNotFull(): Promise<void> {
    await this.#until(() => !this.#lanes.full);
  }

  /**
   * Resolves once every queued file has run and every job has settled; files still queued when
   * the scheduler is stopped are dropped (never started).
   */
  async drain(): Promise<void> {
    await this.#until(() => this.#lanes.size === 0 && this.#running === 0);
    await Promise.all(this.#jobs);
  }

  async #until(done: () => boolean): Promise<void> {
    for (;;) {
      this.#startReady();
      if (done() || this.#options.stopped()) return;
      if (this.#running === 0) {
        // Nothing runs and nothing can start: no completion will come to wake this wait.
        throw new Error(`file scheduler stalled: ${this.#lanes.size} files queued, none running`);
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  #startReady(): void {
    const { slots, largeSlots, run, stopped } = this.#options;
    while (this.#running < slots && !stopped()) {
      const next = this.#lanes.take(this.#runningLarge < largeSlots);
      if (next === undefined) return;
      this.#running++;
      if (next.large) this.#runningLarge++;
      const job = run(next.record).finally(() => this.#finished(next.large, job));
      this.#jobs.add(job);
    }
  }

  #finished(large: boolean, job: Promise<void>): void {
    this.#jobs.delete(job);
    this.#running--;
    if (large) this.#runningLarge--;
    this.#startReady();
    for (const wake of this.#waiters.splice(0)) wake();
  }
}
