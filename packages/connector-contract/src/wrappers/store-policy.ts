/**
 * The one retry and timeout policy of store operations (and of the S3 source and destination):
 * how many attempts, the backoff between them, how long one attempt may wait on a silent store,
 * and the deadline of the whole operation. RetryStorage applies it around every Storage call
 * (packfiles, states, snapshots, locks, create, open); network connectors take their per-attempt
 * timeouts from it (s3-common: connect, answer, stalled body) and make no retries of their own.
 */
import type { OptionSpec } from '../manifest/manifest.ts';

/** Attempts, backoff and time limits of one operation. */
export interface StorePolicy {
  /** Attempts in all, the first one included. */
  readonly attempts: number;
  /** The n-th retry waits about `baseDelayMs * 2^(n-1)` (half fixed, half random). */
  readonly baseDelayMs: number;
  /** Upper bound of one wait. */
  readonly maxDelayMs: number;
  /**
   * How long one attempt may get nothing from the store: no connection, no answer once the
   * request is sent, no bytes of a body. Connectors enforce it on each request.
   */
  readonly attemptTimeoutMs: number;
  /**
   * The time an operation may spend waiting before it gives up: each failed attempt counts for at
   * most `attemptTimeoutMs` (an attempt that moved data for longer is not a silent store), each
   * wait between attempts for its length, and no attempt starts that could end past the deadline.
   * Against a store that accepts connections and never answers, an operation fails within it.
   */
  readonly deadlineMs: number;
}

/** Default deadline of one operation: 50 s. */
export const DEFAULT_DEADLINE_MS = 50_000;

/** The attempt timeout is this fraction of the deadline (50 s: 15 s, three attempts fit). */
const ATTEMPT_SHARE = 0.3;

/** The policy whose deadline is `deadlineMs`: 6 attempts, 200 ms to 10 s waits, attempts of 0.3 × deadline. */
export function storePolicy(deadlineMs: number = DEFAULT_DEADLINE_MS): StorePolicy {
  return {
    attempts: 6,
    baseDelayMs: 200,
    maxDelayMs: 10_000,
    attemptTimeoutMs: Math.max(1000, Math.round(deadlineMs * ATTEMPT_SHARE)),
    deadlineMs,
  };
}

/** The default policy: a silent store is given up within 50 s. */
export const DEFAULT_STORE_POLICY: StorePolicy = storePolicy();

/**
 * The `timeout` option (seconds) that connectors and the CLI accept for a store, source or
 * destination: the deadline of each operation.
 */
export const TIMEOUT_OPTION: OptionSpec = {
  name: 'timeout',
  type: 'integer',
  required: false,
  default: String(DEFAULT_DEADLINE_MS / 1000),
  min: 5,
  max: 86_400,
  description:
    'Seconds one operation may wait on an endpoint that does not answer before the command gives up (one attempt waits at most 0.3 × timeout). Raise it for slow links.',
};

/** The policy of a `timeout` option value in seconds (undefined: the default). */
export function policyOfTimeout(seconds: number | undefined): StorePolicy {
  return seconds === undefined ? DEFAULT_STORE_POLICY : storePolicy(seconds * 1000);
}

/** The delay before retry number `retry` (1 for the first): equal jitter, bounded by maxDelayMs. */
export function retryDelay(
  policy: Pick<StorePolicy, 'baseDelayMs' | 'maxDelayMs'>,
  retry: number,
  random: () => number,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * The time budget of one operation under `policy`: call `failed(startedAt)` after each failed
 * attempt (`startedAt`: when that attempt began, by the same clock); it returns the delay before
 * the next attempt, or undefined when the operation must give up (attempts spent, or the next
 * attempt could end past the deadline). Counted: each failed attempt up to `attemptTimeoutMs`, and
 * the time between a failure and the next attempt's start (the wait, as it really passed).
 */
export class RetryBudget {
  readonly #policy: StorePolicy;
  readonly #now: () => number;
  readonly #random: () => number;
  #spentMs = 0;
  #attempts = 0;
  #lastFailure: number | undefined;
  #stoppedBy: 'attempts' | 'deadline' | undefined;

  constructor(policy: StorePolicy, now: () => number = Date.now, random: () => number = Math.random) {
    this.#policy = policy;
    this.#now = now;
    this.#random = random;
  }

  /** Attempts failed so far. */
  get attempts(): number {
    return this.#attempts;
  }

  /** Milliseconds counted against the deadline so far. */
  get spentMs(): number {
    return this.#spentMs;
  }

  /** Why `failed` last returned undefined. */
  get stoppedBy(): 'attempts' | 'deadline' | undefined {
    return this.#stoppedBy;
  }

  failed(startedAt: number): number | undefined {
    const p = this.#policy;
    const now = this.#now();
    if (this.#lastFailure !== undefined) this.#spentMs += Math.max(0, startedAt - this.#lastFailure);
    this.#spentMs += Math.min(Math.max(0, now - startedAt), p.attemptTimeoutMs);
    this.#lastFailure = now;
    this.#attempts++;
    if (this.#attempts >= p.attempts) {
      this.#stoppedBy = 'attempts';
      return undefined;
    }
    const delay = retryDelay(p, this.#attempts, this.#random);
    if (this.#spentMs + delay + p.attemptTimeoutMs > p.deadlineMs) {
      this.#stoppedBy = 'deadline';
      return undefined;
    }
    return delay;
  }
}
