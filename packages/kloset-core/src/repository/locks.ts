/**
 * Store locks (FORMAT.md §9): shared for writers that add data, exclusive for writers that delete.
 * Taking a lock puts it, then lists the others; a conflicting non-stale lock makes the attempt
 * delete its own lock and fail naming the holder. Held locks are rewritten on a timer (unref'd, so
 * a forgotten handle never keeps the process alive) and deleted on release.
 */
import { hostname as osHostname } from 'node:os';
import { isNotFound } from '@kloset/connector-contract';
import { CorruptDataError } from '../crypto/errors.ts';
import { fromHexId, toHex } from '../encoding/bytes.ts';
import { RepositoryError } from './errors.ts';
import { decodeLock, encodeLock, type LockBody } from './lock-codec.ts';
import type { ResourceStore } from './resource-store.ts';

/** A lock not refreshed for this long is stale and ignored (FORMAT.md §9). */
export const LOCK_STALE_AFTER_MS = 30 * 60 * 1000;
/** Holders rewrite their lock this often. */
export const LOCK_REFRESH_INTERVAL_MS = 5 * 60 * 1000;

/** Options of `acquireLock`. */
export interface LockOptions {
  /** Exclusive (rm, prune) or shared (backup). */
  readonly exclusive: boolean;
  /** Overrides for tests. */
  readonly staleAfterMs?: number;
  readonly refreshIntervalMs?: number;
  /** Clock (Unix ms); defaults to Date.now. */
  readonly now?: () => number;
  readonly hostname?: string;
  readonly pid?: number;
}

/** A lock found in the store. */
export interface LockInfo extends LockBody {
  /** Hex id of the lock resource. */
  readonly id: string;
}

/** A held lock. */
export interface LockHandle {
  /** Hex id of the lock resource. */
  readonly id: string;
  readonly exclusive: boolean;
  /** The last refresh failure, if the latest refresh failed (the lock may go stale). */
  readonly refreshError: unknown;
  /** Rewrites the lock now with the current time. */
  refresh(): Promise<void>;
  /** Stops refreshing and deletes the lock. Idempotent. */
  release(): Promise<void>;
}

function describeAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}

/** The store is locked by someone else. */
export class LockConflictError extends RepositoryError {
  override readonly name = 'LockConflictError';
  /** The lock that blocked us. */
  readonly holder: LockInfo;

  constructor(wanted: 'shared' | 'exclusive', holder: LockInfo, now: number) {
    const kind = holder.exclusive ? 'an exclusive' : 'a shared';
    super(
      'locked',
      `cannot take ${wanted === 'exclusive' ? 'an exclusive' : 'a shared'} lock: store is locked (${kind} lock) by ` +
        `${holder.hostname} pid ${holder.pid}, taken ${describeAge(now - holder.created)} ago, ` +
        `refreshed ${describeAge(now - holder.time)} ago (lock ${holder.id.slice(0, 8)})`,
    );
    this.holder = holder;
  }
}

/**
 * A lock that fails authentication or does not parse (FORMAT.md §9): it may be anyone's, exclusive
 * or not, so it blocks every lock taker; `unlock` removes it. The message is
 * `lock HEXID cannot be read (REASON)`; the CLI adds the store and the command that clears it.
 */
export class UnreadableLockError extends RepositoryError {
  override readonly name = 'UnreadableLockError';
  /** Hex id of the lock resource. */
  readonly lockId: string;
  readonly reason: string;

  constructor(lockId: string, reason: string, options?: { cause?: unknown }) {
    super('locked', `lock ${lockId} cannot be read (${reason})`, options);
    this.lockId = lockId;
    this.reason = reason;
  }
}

/** A lock as read from the store: its body, or why it cannot be read. */
export type ReadLock = { readonly id: string; readonly lock: LockInfo } | UnreadableLockError;

/**
 * Reads every lock of the store, skipping those deleted while listing; one that fails
 * authentication or does not parse comes as an UnreadableLockError (not thrown). Other errors
 * (the store's) are thrown.
 */
export async function* readLocks(store: ResourceStore): AsyncGenerator<ReadLock> {
  for await (const id of store.listResources('lock')) {
    const hex = toHex(id);
    let bytes: Uint8Array;
    try {
      bytes = await store.getResource('lock', id);
    } catch (err) {
      if (isNotFound(err)) continue;
      if (err instanceof CorruptDataError) {
        yield new UnreadableLockError(hex, err.reason, { cause: err });
        continue;
      }
      throw err;
    }
    try {
      yield { id: hex, lock: { id: hex, ...decodeLock(bytes) } };
    } catch (err) {
      yield new UnreadableLockError(hex, `does not parse: ${(err as Error).message}`, { cause: err });
    }
  }
}

/** Reads every lock of the store; throws UnreadableLockError at the first that cannot be read. */
export async function* listLocks(store: ResourceStore): AsyncGenerator<LockInfo> {
  for await (const read of readLocks(store)) {
    if (read instanceof UnreadableLockError) throw read;
    yield read.lock;
  }
}

/** Options of `removeLocks`. */
export interface RemoveLocksOptions {
  /** Also remove locks that look live (their holder may still run). Default false. */
  readonly all?: boolean;
  readonly staleAfterMs?: number;
  readonly now?: () => number;
  readonly hostname?: string;
}

/** What `removeLocks` did. */
export interface RemovedLocks {
  /** Removed: stale, orphaned (holder gone from this host), unreadable, or live with `all`. */
  readonly removed: readonly {
    readonly id: string;
    readonly why: 'stale' | 'orphaned' | 'unreadable' | 'live';
  }[];
  /** Live locks kept (without `all`). */
  readonly kept: readonly LockInfo[];
}

/**
 * `unlock`: removes the locks that block writers although no one holds them: stale ones (FORMAT
 * §9: anyone may remove them), orphaned ones (their process on this host is gone) and unreadable
 * ones (the user runs it when no kloset command is running); live ones only with `all`.
 */
export async function removeLocks(
  store: ResourceStore,
  options: RemoveLocksOptions = {},
): Promise<RemovedLocks> {
  const now = (options.now ?? Date.now)();
  const staleAfterMs = options.staleAfterMs ?? LOCK_STALE_AFTER_MS;
  const hostname = options.hostname ?? osHostname();
  const removed: { id: string; why: 'stale' | 'orphaned' | 'unreadable' | 'live' }[] = [];
  const kept: LockInfo[] = [];
  const found: ReadLock[] = [];
  for await (const read of readLocks(store)) found.push(read);
  for (const read of found) {
    let why: 'stale' | 'orphaned' | 'unreadable' | 'live';
    if (read instanceof UnreadableLockError) why = 'unreadable';
    else if (isStale(read.lock, now, staleAfterMs)) why = 'stale';
    else if (isOrphaned(read.lock, hostname)) why = 'orphaned';
    else if (options.all === true) why = 'live';
    else {
      kept.push(read.lock);
      continue;
    }
    const id = read instanceof UnreadableLockError ? read.lockId : read.id;
    await store.deleteResource('lock', fromHexId(id));
    removed.push({ id, why });
  }
  return { removed, kept };
}

/** True if `lock` was not refreshed within `staleAfterMs` of `now`. */
export function isStale(lock: LockBody, now: number, staleAfterMs = LOCK_STALE_AFTER_MS): boolean {
  return now - lock.time > staleAfterMs;
}

/**
 * True if `lock` was taken on this host by a process that no longer runs (killed with -9, machine
 * crash), like restic: such a lock is as good as stale and is ignored at once instead of after
 * 30 minutes. A process we may not signal (EPERM) still runs.
 */
export function isOrphaned(lock: LockBody, hostname: string): boolean {
  if (lock.hostname !== hostname || lock.pid === process.pid) return false;
  try {
    process.kill(lock.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Takes a lock: puts it, then checks the other locks. Throws LockConflictError naming the holder
 * (after deleting its own lock) when a non-stale conflicting lock exists.
 */
export async function acquireLock(store: ResourceStore, options: LockOptions): Promise<LockHandle> {
  const now = options.now ?? Date.now;
  const staleAfterMs = options.staleAfterMs ?? LOCK_STALE_AFTER_MS;
  const refreshIntervalMs = options.refreshIntervalMs ?? LOCK_REFRESH_INTERVAL_MS;
  const id = store.newResourceId();
  const hexId = toHex(id);
  const created = now();
  const base = {
    exclusive: options.exclusive,
    hostname: options.hostname ?? osHostname(),
    pid: options.pid ?? process.pid,
    created,
  };
  await store.putResource('lock', id, encodeLock({ ...base, time: created }));

  try {
    const at = now();
    for await (const other of listLocks(store)) {
      if (other.id === hexId || isStale(other, at, staleAfterMs)) continue;
      if (isOrphaned(other, base.hostname)) {
        await store.deleteResource('lock', fromHexId(other.id)).catch(() => undefined);
        continue;
      }
      if (options.exclusive || other.exclusive) {
        throw new LockConflictError(options.exclusive ? 'exclusive' : 'shared', other, at);
      }
    }
  } catch (err) {
    await store.deleteResource('lock', id).catch(() => undefined);
    throw err;
  }

  let released = false;
  let refreshError: unknown;
  let refreshing: Promise<void> = Promise.resolve();
  const refresh = async (): Promise<void> => {
    if (released) return;
    refreshing = store.putResource('lock', id, encodeLock({ ...base, time: now() }));
    try {
      await refreshing;
      refreshError = undefined;
    } catch (err) {
      refreshError = err;
      throw err;
    }
  };
  const timer = setInterval(() => {
    refresh().catch(() => undefined);
  }, refreshIntervalMs);
  timer.unref();

  return {
    id: hexId,
    exclusive: options.exclusive,
    get refreshError() {
      return refreshError;
    },
    refresh,
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      await refreshing.catch(() => undefined);
      await store.deleteResource('lock', id);
    },
  };
}
