/** RetryStorage: retries transient failures of another Storage with jittered exponential backoff. */
import { ConnectorError, isConnectorError } from '../errors/connector-error.ts';
import type {
  ByteRange,
  LeftoverRemoval,
  PutData,
  ResourceInfo,
  ResourceKind,
  Storage,
  StorageMode,
} from '../storage/storage.ts';
import type { StorageOperation } from './storage-operation.ts';

/** One retry about to happen, as told to `RetryOptions.onRetry`. */
export interface RetryEvent {
  readonly op: StorageOperation;
  /** What the call addressed: `packfile/<id>`, a kind for `list`, `config` for create/open. */
  readonly target: string;
  /** The attempt that just failed (1 for the first call). */
  readonly attempt: number;
  /** How long RetryStorage waits before the next attempt. */
  readonly delayMs: number;
  readonly error: ConnectorError;
}

/** How RetryStorage retries. Every field has a default. */
export interface RetryOptions {
  /** Attempts in all, the first one included. Default 6. */
  readonly maxAttempts?: number;
  /** Base of the backoff: the n-th retry waits about `baseDelayMs * 2^(n-1)`. Default 200. */
  readonly baseDelayMs?: number;
  /** Upper bound of one wait. Default 10,000. */
  readonly maxDelayMs?: number;
  /** No retry starts later than this after the first attempt began. Default 120,000. */
  readonly maxElapsedMs?: number;
  /** How many times a `corrupt` failure is retried (the contract: "may help once"). Default 1. */
  readonly maxCorruptRetries?: number;
  /** Called before each wait, e.g. to log the retry. Must not throw. */
  readonly onRetry?: (event: RetryEvent) => void;
  /** Source of jitter in [0, 1). Default Math.random; tests pass a seeded one. */
  readonly random?: () => number;
  /** Waits `ms` milliseconds. Default setTimeout; tests pass a fake. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Milliseconds clock. Default Date.now; tests pass a fake. */
  readonly now?: () => number;
}

const sleepMs = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A Storage that forwards every call to `inner` and retries it when it fails with a retryable
 * ConnectorError (`transient`, `unavailable`, and `corrupt` at most `maxCorruptRetries` times).
 * Final codes (`auth`, `permission`, `not_found`, `invalid`, `already_exists`) and errors that are
 * not ConnectorErrors are never retried. Waits grow exponentially with "equal jitter" (half fixed,
 * half random), bounded by `maxDelayMs`; attempts are bounded by `maxAttempts` and `maxElapsedMs`.
 * When retries run out, the last error is rethrown with its code and context and a message saying
 * how many attempts were made (the original error is its `cause`).
 *
 * - `put` passes the same PutData again, so a PutBody is re-opened for each attempt.
 * - `create` that fails with `already_exists` after an earlier attempt failed transiently checks
 *   with `open()` whether the config is its own (the earlier attempt did succeed) and succeeds then.
 * - `list` is retried only while it has yielded nothing: restarting later would yield duplicates.
 * - `removeLeftovers` exists when `inner` has it, and is retried (it is idempotent; what a failed
 *   attempt removed is not counted).
 */
export class RetryStorage implements Storage {
  readonly #inner: Storage;
  readonly #maxAttempts: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #maxElapsedMs: number;
  readonly #maxCorruptRetries: number;
  readonly #onRetry: ((event: RetryEvent) => void) | undefined;
  readonly #random: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #now: () => number;
  readonly removeLeftovers?: (olderThanMs: number) => Promise<LeftoverRemoval>;

  constructor(inner: Storage, options: RetryOptions = {}) {
    this.#inner = inner;
    const removeLeftovers = inner.removeLeftovers?.bind(inner);
    if (removeLeftovers !== undefined) {
      this.removeLeftovers = (olderThanMs) =>
        this.#retry('removeLeftovers', 'leftovers', () => removeLeftovers(olderThanMs));
    }
    this.#maxAttempts = Math.max(1, options.maxAttempts ?? 6);
    this.#baseDelayMs = options.baseDelayMs ?? 200;
    this.#maxDelayMs = options.maxDelayMs ?? 10_000;
    this.#maxElapsedMs = options.maxElapsedMs ?? 120_000;
    this.#maxCorruptRetries = options.maxCorruptRetries ?? 1;
    this.#onRetry = options.onRetry;
    this.#random = options.random ?? Math.random;
    this.#sleep = options.sleep ?? sleepMs;
    this.#now = options.now ?? Date.now;
  }

  get location(): string {
    return this.#inner.location;
  }

  get mode(): StorageMode {
    return this.#inner.mode;
  }

  async create(config: Uint8Array): Promise<void> {
    let failedBefore = false;
    try {
      await this.#retry('create', 'config', async () => {
        try {
          await this.#inner.create(config);
        } catch (err) {
          if (isConnectorError(err) && err.retryable) failedBefore = true;
          throw err;
        }
      });
    } catch (err) {
      if (!failedBefore || !isConnectorError(err, 'already_exists')) throw err;
      // An earlier attempt may have created the store before its answer was lost.
      const existing = await this.open();
      if (!sameBytes(existing, config)) throw err;
    }
  }

  open(): Promise<Uint8Array> {
    return this.#retry('open', 'config', () => this.#inner.open());
  }

  put(kind: ResourceKind, id: string, data: PutData): Promise<void> {
    return this.#retry('put', `${kind}/${id}`, () => this.#inner.put(kind, id, data));
  }

  get(kind: ResourceKind, id: string, range?: ByteRange): Promise<Uint8Array> {
    return this.#retry('get', `${kind}/${id}`, () => this.#inner.get(kind, id, range));
  }

  async *list(kind: ResourceKind): AsyncIterable<ResourceInfo> {
    let iterator: AsyncIterator<ResourceInfo> | undefined;
    const first = await this.#retry('list', kind, async () => {
      iterator = this.#inner.list(kind)[Symbol.asyncIterator]();
      try {
        return await iterator.next();
      } catch (err) {
        iterator = undefined;
        throw err;
      }
    });
    if (first.done) return;
    yield first.value;
    // Delegating keeps the inner iterator's return() (early break) working.
    yield* { [Symbol.asyncIterator]: () => iterator as AsyncIterator<ResourceInfo> };
  }

  delete(kind: ResourceKind, id: string): Promise<void> {
    return this.#retry('delete', `${kind}/${id}`, () => this.#inner.delete(kind, id));
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  async #retry<T>(op: StorageOperation, target: string, call: () => Promise<T>): Promise<T> {
    const started = this.#now();
    let corruptRetries = 0;
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (err) {
        if (!isConnectorError(err) || !err.retryable) throw err;
        if (err.code === 'corrupt' && corruptRetries++ >= this.#maxCorruptRetries)
          throw this.#gaveUp(err, attempt);
        if (attempt >= this.#maxAttempts) throw this.#gaveUp(err, attempt);
        const delayMs = this.#delay(attempt);
        if (this.#now() + delayMs - started > this.#maxElapsedMs) throw this.#gaveUp(err, attempt);
        this.#onRetry?.({ op, target, attempt, delayMs, error: err });
        await this.#sleep(delayMs);
      }
    }
  }

  #delay(attempt: number): number {
    const ceiling = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** (attempt - 1));
    return Math.round(ceiling / 2 + (this.#random() * ceiling) / 2);
  }

  #gaveUp(err: ConnectorError, attempts: number): ConnectorError {
    if (attempts === 1) return err;
    return new ConnectorError(err.code, `${err.message} (gave up after ${attempts} attempts)`, err.context, {
      cause: err,
    });
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
