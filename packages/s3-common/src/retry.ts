/**
 * Retries with jittered exponential backoff, for the S3 source and destination (the storage leaves
 * retries to the contract's RetryStorage wrapper). Only retryable ConnectorErrors (`transient`,
 * `unavailable`, `corrupt`) are retried; authentication, permission, not-found and invalid-request
 * errors fail at once.
 */
import { isConnectorError } from '@kloset/connector-contract';

/** How many times and how long to wait. */
export interface RetryPolicy {
  /** Total attempts, the first one included (1 = no retry). */
  readonly attempts: number;
  /** Delay cap of the first retry; doubles at each retry. */
  readonly baseDelayMs: number;
  /** Upper bound of any delay. */
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 250, maxDelayMs: 10_000 };

/** No retry at all. */
export const NO_RETRY: RetryPolicy = { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 };

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
 * Calls `fn` until it succeeds, throws a non-retryable error, or `policy.attempts` are spent (then
 * the last error is thrown). `fn` should throw ConnectorErrors (see toConnectorError).
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  policy: RetryPolicy = DEFAULT_RETRY,
  signal?: AbortSignal,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (attempt + 1 >= policy.attempts || !isRetryable(err)) throw err;
      await sleep(backoffDelay(policy, attempt), signal);
    }
  }
}
