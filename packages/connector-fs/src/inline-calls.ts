/**
 * Cheap file-system calls on the calling thread while they stay cheap.
 *
 * Every asynchronous fs call is a hand-off: the request goes to a thread-pool thread (woken with a
 * futex), its completion comes back through the event loop. For an lstat of a cached inode, the
 * creation of a file or a write of a few KiB into the page cache, the hand-offs cost far more than
 * the system call itself: on a 2-core VM, where each wake-up traps to the hypervisor, restoring
 * 8,366 files (8,000 of them under 64 KiB) took 45k context switches and 6.4-8.4 s of CPU with
 * open and write in the pool, 14k and 5.7-6.5 s with them inline (restic: 12-20k); scanning the
 * same tree unchanged, 17-21k -> 3.5k context switches, CPU -12%.
 *
 * But calls that reach a slow device would stall everything else on the thread: a cold inode on a
 * spinning disk, writeback throttling (one call of milliseconds), a network file system (every
 * call a round trip of 0.2-1.5 ms). So each inline call is timed; after a call that took longer
 * than `slowMs` while another of the WINDOW_CALLS inline calls before it did too, or a window of
 * WINDOW_CALLS calls that, without the slowest of them, averaged more than `averageSlowMs` each,
 * the next `poolCalls` calls go to the thread pool again (where several run at once and the
 * calling thread keeps working); then inline calls are tried again. A lone slow call is most
 * often the thread preempted on a loaded machine, not the device: a backup of 100k files of 100 B
 * on 2 busy cores met 138 of them (2-170 ms), none next to another, and sending the next calls to
 * the pool after each put 15% of the calls there. `KLOSET_FS_INLINE=0` keeps every call in the
 * thread pool (a file system that can hang, such as a hard-mounted NFS).
 *
 * Inline calls never wait for the event loop: a walk that lstats and reads small files inline
 * runs on promise reactions alone, and timers, signals, sockets and the completions of calls in
 * the pool would wait for its end (a scan and read of 100k files ran 2.7 s without one turn of
 * the event loop, a read sent to the pool meanwhile waiting all along). So once `turnMs` went by
 * since the event loop last turned, calls go to the pool until it has turned again.
 */
import { performance } from 'node:perf_hooks';

/**
 * Defaults: a second inline call of over 2 ms within 32, or 32 in a row averaging over 0.2 ms
 * (their slowest left out), send the next 256 to the thread pool.
 */
export const INLINE_SLOW_MS = 2;
export const INLINE_AVERAGE_SLOW_MS = 0.2;
export const WINDOW_CALLS = 32;
export const POOL_CALLS_AFTER_SLOW = 256;
/** Default longest stretch of inline calls without a turn of the event loop, in milliseconds. */
export const INLINE_TURN_MS = 50;

/** What InlineCalls.runInline returns when the call is to be made in the thread pool. */
export const POOLED: unique symbol = Symbol('pooled');

/** Tuning of an InlineCalls. */
export interface InlineCallsOptions {
  /**
   * An inline call that takes longer than this (milliseconds) is slow; two within WINDOW_CALLS
   * calls send the next ones to the pool. Default INLINE_SLOW_MS.
   */
  readonly slowMs?: number;
  /**
   * WINDOW_CALLS inline calls averaging more than this (milliseconds), their slowest left out,
   * are slow too. Default INLINE_AVERAGE_SLOW_MS.
   */
  readonly averageSlowMs?: number;
  /** Calls sent to the thread pool after a slow one. Default POOL_CALLS_AFTER_SLOW. */
  readonly poolCalls?: number;
  /** Never run inline (every call in the thread pool). Default: KLOSET_FS_INLINE is `0`. */
  readonly poolOnly?: boolean;
  /**
   * After this long (milliseconds) of inline calls without a turn of the event loop, calls go to
   * the pool until it turns. Default INLINE_TURN_MS.
   */
  readonly turnMs?: number;
}

/** Chooses, call by call, between the synchronous and the thread-pool form of an fs call. */
export class InlineCalls {
  readonly #slowMs: number;
  readonly #windowSlowMs: number;
  readonly #poolCalls: number;
  readonly #poolOnly: boolean;
  readonly #turnMs: number;
  #poolLeft = 0;
  /** When the first inline call since the event loop last turned ran; undefined until one does. */
  #sinceTurn: number | undefined;
  /** Inline calls in the current window, their time, and the longest of them. */
  #windowCalls = 0;
  #windowMs = 0;
  #windowMaxMs = 0;
  /** The number (counts.inline) of the last slow inline call. */
  #lastSlow = Number.NEGATIVE_INFINITY;
  #inline = 0;
  #pooled = 0;

  constructor(options: InlineCallsOptions = {}) {
    this.#slowMs = options.slowMs ?? INLINE_SLOW_MS;
    this.#windowSlowMs = (WINDOW_CALLS - 1) * (options.averageSlowMs ?? INLINE_AVERAGE_SLOW_MS);
    this.#poolCalls = options.poolCalls ?? POOL_CALLS_AFTER_SLOW;
    this.#poolOnly = options.poolOnly ?? process.env.KLOSET_FS_INLINE === '0';
    this.#turnMs = options.turnMs ?? INLINE_TURN_MS;
  }

  /**
   * Runs `inline` on this thread (timed), or `pooled` if a recent inline call was slow. Either
   * way the result (or the error) comes as a promise.
   */
  run<T>(inline: () => T, pooled: () => Promise<T>): Promise<T> {
    let result: T | typeof POOLED;
    try {
      result = this.runInline(inline);
    } catch (err) {
      return Promise.reject(err);
    }
    return result === POOLED ? pooled() : Promise.resolve(result);
  }

  /**
   * Runs `inline` on this thread (timed) and returns its result or throws its error; or, if a
   * recent inline call was slow or the event loop is to turn, returns POOLED without running it:
   * the caller makes the call in the thread pool (counted as such). For callers that do many
   * calls in a row without a promise each.
   */
  runInline<T>(inline: () => T): T | typeof POOLED {
    if (this.#poolOnly || this.#poolLeft > 0) {
      if (this.#poolLeft > 0) this.#poolLeft--;
      this.#pooled++;
      return POOLED;
    }
    const start = performance.now();
    if (this.#sinceTurn === undefined) {
      this.#sinceTurn = start;
      setImmediate(() => {
        this.#sinceTurn = undefined;
      });
    } else if (start - this.#sinceTurn > this.#turnMs) {
      this.#pooled++;
      return POOLED;
    }
    this.#inline++;
    try {
      return inline();
    } finally {
      this.#took(performance.now() - start);
    }
  }

  #took(ms: number): void {
    if (ms > this.#slowMs) {
      const again = this.#inline - this.#lastSlow <= WINDOW_CALLS;
      this.#lastSlow = this.#inline;
      if (again) {
        this.#toPool();
        return;
      }
    }
    this.#windowCalls++;
    this.#windowMs += ms;
    if (ms > this.#windowMaxMs) this.#windowMaxMs = ms;
    if (this.#windowCalls < WINDOW_CALLS) return;
    const slow = this.#windowMs - this.#windowMaxMs > this.#windowSlowMs;
    this.#windowCalls = 0;
    this.#windowMs = 0;
    this.#windowMaxMs = 0;
    if (slow) this.#toPool();
  }

  /** Sends the next `poolCalls` calls to the pool, and starts afresh after them. */
  #toPool(): void {
    this.#poolLeft = this.#poolCalls;
    this.#windowCalls = 0;
    this.#windowMs = 0;
    this.#windowMaxMs = 0;
    this.#lastSlow = Number.NEGATIVE_INFINITY;
  }

  /** Calls run inline and in the pool so far. */
  get counts(): { readonly inline: number; readonly pooled: number } {
    return { inline: this.#inline, pooled: this.#pooled };
  }
}
