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
import { DEFAULT_STORE_POLICY, RetryBudget, type StorePolicy } from './store-policy.ts';

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

/**
 * How RetryStorage retries: `policy` (default DEFAULT_STORE_POLICY), whose fields the others
 * override one by one (tests).
 */
export interface RetryOptions {
  /** Attempts, backoff, attempt timeout and deadline (store-policy.ts). */
  readonly policy?: StorePolicy;
  /** Attempts in all, the first one included (policy.attempts). */
  readonly maxAttempts?: number;
  /** Base of the backoff: the n-th retry waits about `baseDelayMs * 2^(n-1)` (policy.baseDelayMs). */
  readonly baseDelayMs?: number;
  /** Upper bound of one wait (policy.maxDelayMs). */
  readonly maxDelayMs?: number;
  /** The deadline of one operation (policy.deadlineMs; see StorePolicy for how it is counted). */
  readonly maxElapsedMs?: number;
  /** What one failed attempt counts for at most against the deadline (policy.attemptTimeoutMs). */
  readonly attemptTimeoutMs?: number;
  /**
   * How many times a `corrupt` failure of a read (get, open, list) is retried (the contract: "may
   * help once"). Default 1. A `corrupt` put or create (the server found the body damaged on its
   * way: a BadDigest) is retried as a transient failure: the body is sent again from its source.
   */
  readonly maxCorruptRetries?: number;
  /**
   * Said after `gave up after N attempts over S s` when the deadline (not the attempts) ran out,
   * e.g. how to wait longer.
   */
  readonly deadlineHint?: string;
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
 * ConnectorError (`transient`, `unavailable`, and `corrupt`: a read at most `maxCorruptRetries`
 * times). Final codes (`auth`, `permission`, `not_found`, `invalid`, `already_exists`) and errors
 * that are not ConnectorErrors are never retried. One policy for every operation and every kind
 * (packfiles, states, snapshots, locks): waits grow exponentially with "equal jitter" (half fixed,
 * half random), bounded by `maxDelayMs`; attempts are bounded by `attempts` and by the deadline
 * (StorePolicy). When retries run out, the last error is rethrown with its code and context and a
 * message saying how many attempts were made over how long (the original error is its `cause`).
 *
 * - `put` passes the same PutData again, so a PutBody is re-opened for each attempt.
 * - `create` that fails with `already_exists` after an earlier attempt failed transiently checks
 *   with `open()` whether the config is its own (the earlier attempt did succeed) and succeeds then.
 * - `list` is retried only while it has yielded nothing: restarting later would yield duplicates.
 * - `removeLeftovers` exists when `inner` has it, and is retried (it is idempotent; what a failed
 *   attempt removed is not counted).
 * - `replaceConfig` exists when `inner` has it, and is retried (putting the same bytes again is
 *   harmless).
 */
export class RetryStorage implements Storage {
  readonly #inner: Storage;
  readonly #policy: StorePolicy;
  readonly #maxCorruptRetries: number;
  readonly #deadlineHint: string | undefined;
  readonly #onRetry: ((event: RetryEvent) => void) | undefined;
  readonly #random: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #now: () => number;
  readonly removeLeftovers?: (olderThanMs: number) => Promise<LeftoverRemoval>;
  readonly replaceConfig?: (config: Uint8Array) => Promise<void>;

  constructor(inner: Storage, options: RetryOptions = {}) {
    this.#inner = inner;
    const removeLeftovers = inner.removeLeftovers?.bind(inner);
    if (removeLeftovers !== undefined) {
      this.removeLeftovers = (olderThanMs) =>
        this.#retry('removeLeftovers', 'leftovers', () => removeLeftovers(olderThanMs));
    }
    const replaceConfig = inner.replaceConfig?.bind(inner);
    if (replaceConfig !== undefined) {
      this.replaceConfig = (config) => this.#retry('replaceConfig', 'config', () => replaceConfig(config));
    }
    const p = options.policy ?? DEFAULT_STORE_POLICY;
    this.#policy = {
      attempts: Math.max(1, options.maxAttempts ?? p.attempts),
      baseDelayMs: options.baseDelayMs ?? p.baseDelayMs,
      maxDelayMs: options.maxDelayMs ?? p.maxDelayMs,
      attemptTimeoutMs: options.attemptTimeoutMs ?? p.attemptTimeoutMs,
      deadlineMs: options.maxElapsedMs ?? p.deadlineMs,
    };
    this.#maxCorruptRetries = options.maxCorruptRetries ?? 1;
    this.#deadlineHint = options.deadlineHint;
    this.#onRetry = options.onRetry;
    this.#random = options.random ?? Math.random;
    this.#sleep = options.sleep ?? sleepMs;
    this.#now = options.now ?? Date.now;
  }

  /** The policy in force (after the overrides of the options). */
  get policy(): StorePolicy {
    return this.#policy;
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
    const budget = new RetryBudget(this.#policy, this.#now, this.#random);
    const first = this.#now();
    // A put's body is ours and whole: a server that found it damaged saw it damaged on the way.
    const writes = op === 'put' || op === 'create';
    let corruptRetries = 0;
    for (let attempt = 1; ; attempt++) {
      const started = this.#now();
      try {
        return await call();
      } catch (err) {
        if (!isConnectorError(err) || !err.retryable) throw err;
        const delayMs = budget.failed(started);
        const corruptSpent = !writes && err.code === 'corrupt' && corruptRetries++ >= this.#maxCorruptRetries;
        if (delayMs === undefined || corruptSpent) {
          const hint = !corruptSpent && budget.stoppedBy === 'deadline' ? this.#deadlineHint : undefined;
          throw this.#gaveUp(err, attempt, this.#now() - first, hint);
        }
        this.#onRetry?.({ op, target, attempt, delayMs, error: err });
        await this.#sleep(delayMs);
      }
    }
  }

  #gaveUp(err: ConnectorError, attempts: number, elapsedMs: number, hint?: string): ConnectorError {
    if (attempts === 1 && hint === undefined) return err;
    const over = elapsedMs >= 10_000 ? ` over ${Math.round(elapsedMs / 1000)} s` : '';
    const tried =
      attempts === 1 ? `gave up after 1 attempt${over}` : `gave up after ${attempts} attempts${over}`;
    return new ConnectorError(
      err.code,
      `${err.message} (${tried}${hint !== undefined ? `; ${hint}` : ''})`,
      err.context,
      { cause: err },
    );
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
