/**
 * Retries with jittered exponential backoff, for the S3 source and destination (the storage leaves
 * retries to the contract's RetryStorage wrapper), under the same policy as the store's
 * (StorePolicy: attempts, backoff, and when given, the attempt timeout and the deadline counted as
 * RetryBudget counts them). Only retryable ConnectorErrors (`transient`, `unavailable`, `corrupt`)
 * are retried; authentication, permission, not-found and invalid-request errors fail at once.
 */
import {
  DEFAULT_STORE_POLICY,
  isConnectorError,
  RetryBudget,
  type StorePolicy,
} from '@kloset/connector-contract';

/**
 * How many times and how long to wait: a StorePolicy, whose time limits may be left out (tests):
 * then only the attempts bound the retries.
 */
export type RetryPolicy = Pick<StorePolicy, 'attempts' | 'baseDelayMs' | 'maxDelayMs'> &
  Partial<Pick<StorePolicy, 'attemptTimeoutMs' | 'deadlineMs'>>;

/** The store's default policy (a 50 s deadline): what the S3 connectors use without `timeout=`. */
export const DEFAULT_RETRY: RetryPolicy = DEFAULT_STORE_POLICY;

/** No retry at all. */
export const NO_RETRY: RetryPolicy = { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 };

function fullPolicy(policy: RetryPolicy): StorePolicy {
  return {
    attemptTimeoutMs: 0,
    deadlineMs: Number.POSITIVE_INFINITY,
    ...policy,
  };
}

/**
 * The delay before retry number `retry` (0 for the first retry): "equal jitter", half fixed and
 * half random, so that concurrent clients spread out but never hammer with zero delay.
 */
export function backoffDelay(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return cap / 2 + random() * (cap / 2);
}

/** Resolves after `ms`, or rejects with the signal's reason when it fires first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** True when `err` is worth another attempt. */
export function isRetryable(err: unknown): boolean {
  return isConnectorError(err) && err.retryable;
}

/**
 * Calls `fn` until it succeeds, throws a non-retryable error, or the policy's attempts or deadline
 * are spent (then the last error is thrown). `fn` should throw ConnectorErrors (see
 * toConnectorError).
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  policy: RetryPolicy = DEFAULT_RETRY,
  signal?: AbortSignal,
): Promise<T> {
  const budget = new RetryBudget(fullPolicy(policy));
  for (let attempt = 0; ; attempt++) {
    const started = Date.now();
    try {
      return await fn(attempt);
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (!isRetryable(err)) throw err;
      const delay = budget.failed(started);
      if (delay === undefined) throw err;
      await sleep(delay, signal);
    }
  }
}
