import { MemoryStorage } from '@kloset/connector-contract/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeLock } from '../src/repository/lock-codec.ts';
import {
  isStale,
  LOCK_STALE_AFTER_MS,
  LockConflictError,
  listLocks,
  removeLocks,
  UnreadableLockError,
} from '../src/repository/locks.ts';
import type { Repository } from '../src/repository/repository.ts';
import { createTestRepository, openTestRepository, tempDir } from './repository-helpers.ts';

let dir: { path: string; cleanup: () => void };
let repo: Repository;
let other: Repository;
let storage: MemoryStorage;

beforeEach(async () => {
  dir = tempDir();
  storage = new MemoryStorage();
  ({ repo } = await createTestRepository(`${dir.path}/a`, {}, storage));
  other = await openTestRepository(storage, `${dir.path}/b`);
});
afterEach(async () => {
  await repo.close();
  await other.close();
  dir.cleanup();
});

describe('locks', () => {
  it('two shared locks coexist; release deletes them', async () => {
    const a = await repo.lock({ exclusive: false });
    const b = await other.lock({ exclusive: false });
    expect(storage.store.resources.lock.size).toBe(2);
    await a.release();
    await b.release();
    await a.release(); // idempotent
    expect(storage.store.resources.lock.size).toBe(0);
  });

  it('an exclusive lock fails while a shared one is held, naming the holder, and leaves nothing behind', async () => {
    const shared = await repo.lock({ exclusive: false, hostname: 'backup-host', pid: 4242 });
    const err = await other.lock({ exclusive: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockConflictError);
    const message = (err as Error).message;
    expect(message).toMatch(
      /cannot take an exclusive lock: store is locked \(a shared lock\) by backup-host pid 4242/,
    );
    expect(message).not.toContain('\n');
    expect((err as LockConflictError).holder.id).toBe(shared.id);
    expect(storage.store.resources.lock.size).toBe(1);
    await shared.release();
    const exclusive = await other.lock({ exclusive: true });
    await exclusive.release();
  });

  it('a shared lock fails while an exclusive one is held', async () => {
    const exclusive = await repo.lock({ exclusive: true, hostname: 'pruner', pid: 7 });
    await expect(other.lock({ exclusive: false })).rejects.toThrow(
      /locked \(an exclusive lock\) by pruner pid 7/,
    );
    await expect(other.lock({ exclusive: true })).rejects.toThrow(LockConflictError);
    expect(storage.store.resources.lock.size).toBe(1);
    await exclusive.release();
    const shared = await other.lock({ exclusive: false });
    await shared.release();
  });

  it('a stale lock is ignored', async () => {
    const old = Date.now() - LOCK_STALE_AFTER_MS - 60_000;
    const id = repo.newResourceId();
    await repo.putResource(
      'lock',
      id,
      encodeLock({ exclusive: true, hostname: 'dead-host', pid: 1, time: old, created: old - 1000 }),
    );
    const held = await other.lock({ exclusive: true });
    const locks = [];
    for await (const l of listLocks(repo)) locks.push(l);
    expect(locks).toHaveLength(2);
    expect(locks.filter((l) => isStale(l, Date.now()))).toHaveLength(1);
    await held.release();
  });

  it('a fresh lock of a dead process on this host is removed; one of a live process blocks', async () => {
    const { spawnSync } = await import('node:child_process');
    const { hostname } = await import('node:os');
    const deadPid = spawnSync('true').pid!; // exited: its pid names no process now
    const now = Date.now();
    const id = repo.newResourceId();
    await repo.putResource(
      'lock',
      id,
      encodeLock({ exclusive: true, hostname: hostname(), pid: deadPid, time: now, created: now }),
    );
    const held = await other.lock({ exclusive: true });
    const ids = [];
    for await (const l of listLocks(repo)) ids.push(l.id);
    expect(ids).toEqual([held.id]);
    await held.release();

    const live = repo.newResourceId();
    await repo.putResource(
      'lock',
      live,
      encodeLock({ exclusive: true, hostname: hostname(), pid: 1, time: now, created: now }),
    );
    await expect(other.lock({ exclusive: false })).rejects.toBeInstanceOf(LockConflictError);
  });

  it('a lock that is not refreshed goes stale; one that is refreshed stays', async () => {
    let now = 1_000_000_000_000;
    const clock = () => now;
    const held = await repo.lock({ exclusive: true, now: clock, refreshIntervalMs: 60_000 });
    now += LOCK_STALE_AFTER_MS - 1000;
    await held.refresh();
    now += 2000;
    // Refreshed 2 s ago: still blocks.
    await expect(other.lock({ exclusive: false, now: clock })).rejects.toThrow(LockConflictError);
    now += LOCK_STALE_AFTER_MS + 1;
    // Not refreshed for more than 30 min: ignored.
    const shared = await other.lock({ exclusive: false, now: clock });
    await shared.release();
    await held.release();
  });

  it('refreshes on a timer and rewrites the lock with a new salt', async () => {
    const held = await repo.lock({ exclusive: false, refreshIntervalMs: 10 });
    const before = storage.store.resources.lock.get(held.id)!.slice();
    await new Promise((r) => setTimeout(r, 60));
    const after = storage.store.resources.lock.get(held.id)!;
    expect(Buffer.from(after).equals(Buffer.from(before))).toBe(false);
    expect(held.refreshError).toBeUndefined();
    await held.release();
    expect(storage.store.resources.lock.has(held.id)).toBe(false);
  });

  it('an unreadable lock is an error naming it, not silently ignored', async () => {
    const id = repo.newResourceId();
    await repo.putResource('lock', id, new Uint8Array([1, 2, 3]));
    const hex = Buffer.from(id).toString('hex');
    for (const exclusive of [false, true]) {
      const err = await other.lock({ exclusive }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnreadableLockError);
      expect((err as Error).message).toMatch(new RegExp(`^lock ${hex} cannot be read \\(does not parse: `));
    }
    // The failed attempts took their own locks back: only the unreadable one is left.
    expect([...storage.store.resources.lock.keys()]).toEqual([hex]);
  });

  it('a lock that fails authentication (garbage bytes) is unreadable too, and blocks every taker', async () => {
    const hex = 'ab'.repeat(32);
    await storage.put('lock', hex, new Uint8Array(100).fill(7));
    for (const exclusive of [false, true]) {
      const err = await other.lock({ exclusive }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnreadableLockError);
      expect((err as UnreadableLockError).lockId).toBe(hex);
      expect((err as Error).message).toMatch(new RegExp(`^lock ${hex} cannot be read \\(.+\\)$`));
    }
  });

  it('removeLocks (unlock) removes unreadable, stale and orphaned locks; live ones only with all', async () => {
    const live = await repo.lock({ exclusive: false });
    const garbage = 'cd'.repeat(32);
    await storage.put('lock', garbage, new Uint8Array(50).fill(1));
    const stale = repo.newResourceId();
    const old = Date.now() - LOCK_STALE_AFTER_MS - 1000;
    await repo.putResource(
      'lock',
      stale,
      encodeLock({ exclusive: true, hostname: 'elsewhere', pid: 1, time: old, created: old }),
    );
    const first = await removeLocks(other);
    expect(first.removed.map((r) => r.why).sort()).toEqual(['stale', 'unreadable']);
    expect(first.kept.map((l) => l.id)).toEqual([live.id]);
    expect([...storage.store.resources.lock.keys()]).toEqual([live.id]);
    // Writers are no longer blocked.
    await (await other.lock({ exclusive: false })).release();
    const all = await removeLocks(other, { all: true });
    expect(all.removed).toEqual([{ id: live.id, why: 'live' }]);
    expect(storage.store.resources.lock.size).toBe(0);
    await live.release();
  });
});
