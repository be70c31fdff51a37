/**
 * maintenance on a real Repository over MemoryStorage: what it deletes and keeps, the grace period
 * protecting a writer whose lock went stale, the order of the deletion state and the deletes, and
 * the runs it refuses.
 */
import type { ResourceKind, Source, SourceRecord } from '@kloset/connector-contract';
import { type MemoryEntry, MemorySource, MemoryStorage } from '@kloset/connector-contract/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backup } from '../src/backup/backup.ts';
import { check } from '../src/check/check.ts';
import { toHex } from '../src/encoding/bytes.ts';
import { maintenance } from '../src/maintenance/maintenance.ts';
import { BlobKind } from '../src/repository/blob-store.ts';
import { acquireLock } from '../src/repository/locks.ts';
import type { Repository } from '../src/repository/repository.ts';
import type { SnapshotHeader } from '../src/snapshot/header.ts';
import { readFile } from '../src/snapshot/read-file.ts';
import { TreeReader } from '../src/snapshot/tree-reader.ts';
import {
  createTestRepository,
  openTestRepository,
  pseudoRandom,
  RecordingStorage,
  tempDir,
} from './repository-helpers.ts';
import { collect } from './snapshot-fixtures.ts';

const DAY = 24 * 60 * 60 * 1000;
const later = () => Date.now() + DAY + 60_000;
const SMALL = {
  packfileSize: 1024, // the minimum: a chunk of 1024 bytes or more fills a packfile alone
  chunking: { min: 1024, avg: 2048, max: 4096, normalization: 2 },
} as const;

let dir: { path: string; cleanup: () => void };
let n = 0;
const open: Repository[] = [];
beforeEach(() => {
  dir = tempDir('kloset-maint-');
});
afterEach(async () => {
  for (const r of open.splice(0)) await r.close();
  dir.cleanup();
});
const cache = () => `${dir.path}/cache-${++n}`;
const track = (r: Repository) => {
  open.push(r);
  return r;
};

async function newStore(storage: MemoryStorage | RecordingStorage = new MemoryStorage(), extra = {}) {
  const { repo } = await createTestRepository(cache(), { ...SMALL, ...extra }, storage);
  return track(repo);
}

function file(path: string, seed: number, size = 12_000): MemoryEntry {
  return { path, type: 'file', bytes: pseudoRandom(seed, size) };
}

async function snap(repo: Repository, entries: MemoryEntry[], source?: Source): Promise<SnapshotHeader> {
  return (await backup(repo, source ?? new MemorySource(entries), { parent: null })).header;
}

async function content(repo: Repository, h: SnapshotHeader, path: string): Promise<Buffer> {
  return Buffer.concat(await collect(readFile(repo, h, path)));
}

async function chunksOf(repo: Repository, h: SnapshotHeader, path: string) {
  return (await new TreeReader(repo, h.root).get(path, 'file'))!.chunks;
}

describe('maintenance', () => {
  it('deletes the packfiles only removed snapshots used, once past the grace period', async () => {
    const storage = new MemoryStorage();
    const repo = await newStore(storage);
    const a = await snap(repo, [file('/only-a', 1), file('/shared', 2)]);
    const b = await snap(repo, [file('/only-b', 3), file('/shared', 2)]);
    // A file's last chunk can be below the packfile size and share a packfile with another short
    // blob (the last chunk of /shared, read at the same time): only A's chunks in packfiles without
    // any of B's blobs are unused.
    const packOf = (id: Uint8Array) => toHex(repo.locateBlob(BlobKind.Chunk, id)!.packfile);
    const packsOfB = new Set((await chunksOf(repo, b, '/shared')).map((c) => packOf(c.id)));
    const onlyA = (await chunksOf(repo, a, '/only-a')).filter((c) => !packsOfB.has(packOf(c.id)));
    expect(onlyA.length).toBeGreaterThan(0);
    await repo.deleteResource('snapshot', a.id);
    const before = storage.store.resources.packfile.size;

    // Right after rm: A's packfiles were indexed moments ago, so the grace period keeps them.
    const soon = await maintenance(repo);
    expect(soon).toMatchObject({ deleted: 0, snapshots: 1, dryRun: false });
    expect(soon.keptRecent).toBeGreaterThan(0);
    expect(storage.store.resources.packfile.size).toBe(before);

    expect(repo.noPackfileDeleted()).toBe(true);
    const done = await maintenance(repo, { now: later });
    expect(done.deleted).toBeGreaterThan(0);
    expect(repo.noPackfileDeleted()).toBe(false);
    expect(done.deleted).toBe(done.deletedIds.length);
    expect(done.states).toBe(1);
    expect(done.deletedBytes).toBeGreaterThan(0);
    expect(storage.store.resources.packfile.size).toBe(before - done.deleted);
    for (const c of onlyA) expect(repo.hasBlob(BlobKind.Chunk, c.id)).toBe(false);

    // B is whole, for this cache and for a new one.
    expect((await check(repo)).ok).toBe(true);
    const fresh = track(await openTestRepository(storage, cache()));
    expect(fresh.noPackfileDeleted()).toBe(false); // learnt from the deletion state
    expect((await check(fresh)).ok).toBe(true);
    expect((await content(fresh, b, '/shared')).equals(Buffer.from(pseudoRandom(2, 12_000)))).toBe(true);
    for (const c of onlyA) expect(fresh.hasBlob(BlobKind.Chunk, c.id)).toBe(false);
    // A second run finds nothing more.
    expect((await maintenance(repo, { now: later })).deleted).toBe(0);
  });

  it('keeps partly used packfiles below the repack threshold whole and reports their unused bytes', async () => {
    const storage = new MemoryStorage();
    const repo = await newStore(storage, { packfileSize: 256 * 1024 });
    const a = await snap(repo, [file('/only-a', 1), file('/shared', 2)]);
    await snap(repo, [file('/shared', 2)]);
    await repo.deleteResource('snapshot', a.id);
    const result = await maintenance(repo, { now: later, repackPercent: 100 });
    expect(result).toMatchObject({ repacked: 0, repackedBytes: 0 });
    expect(result.partial).toBeGreaterThan(0);
    expect(result.reclaimableBytes).toBeGreaterThanOrEqual(12_000);
    expect((await check(repo)).ok).toBe(true);
  });

  it('repacks partly used packfiles past the threshold: live blobs first, durable, then the old packfile goes', async () => {
    const mem = new MemoryStorage();
    const storage = new RecordingStorage(mem);
    const repo = await newStore(storage, { packfileSize: 256 * 1024 });
    const a = await snap(repo, [file('/only-a', 1, 36_000), file('/shared', 2)]);
    const b = await snap(repo, [file('/shared', 2), file('/only-b', 3)]);
    const onlyA = await chunksOf(repo, a, '/only-a');
    const shared = await chunksOf(repo, b, '/shared');
    const oldPack = Buffer.from(repo.locateBlob(BlobKind.Chunk, shared[0]!.id)!.packfile).toString('hex');
    await repo.deleteResource('snapshot', a.id);

    // Within the grace period: kept whole, counted as partly used.
    const young = await maintenance(repo);
    expect(young).toMatchObject({ repacked: 0, deleted: 0 });
    expect(young.partial).toBeGreaterThan(0);
    const dry = await maintenance(repo, { now: later, dryRun: true });
    expect(dry.repacked).toBeGreaterThan(0);
    expect(mem.store.resources.packfile.has(oldPack)).toBe(true);

    storage.calls.length = 0;
    const done = await maintenance(repo, { now: later });
    expect(done.repacked).toBe(dry.repacked);
    expect(done.repackedBytes).toBe(dry.repackedBytes);
    expect(done.repackedBytes).toBeGreaterThanOrEqual(12_000);
    expect(done.deletedIds).toContain(oldPack);
    expect(mem.store.resources.packfile.has(oldPack)).toBe(false);
    // Order: new packfile, the state listing it, the deletion state, then the delete.
    const at = (pred: (c: string) => boolean) => storage.calls.findIndex(pred);
    const newPackPut = at((c) => c.startsWith('put packfile/'));
    const states = storage.calls.map((c, i) => (c.startsWith('put state/') ? i : -1)).filter((i) => i >= 0);
    const oldDelete = at((c) => c === `delete packfile/${oldPack}`);
    expect(newPackPut).toBeGreaterThanOrEqual(0);
    expect(states.length).toBe(2);
    expect(newPackPut).toBeLessThan(states[0]!);
    expect(states[1]!).toBeLessThan(oldDelete);

    for (const c of onlyA) expect(repo.hasBlob(BlobKind.Chunk, c.id)).toBe(false);
    const fresh = track(await openTestRepository(mem, cache()));
    expect((await check(fresh)).ok).toBe(true);
    expect((await content(fresh, b, '/shared')).equals(Buffer.from(pseudoRandom(2, 12_000)))).toBe(true);
    for (const c of shared) {
      expect(Buffer.from(fresh.locateBlob(BlobKind.Chunk, c.id)!.packfile).toString('hex')).not.toBe(oldPack);
    }
    expect((await maintenance(fresh, { now: later })).repacked).toBe(0);
  });

  it('-dry-run decides the same and changes nothing, without a lock', async () => {
    const storage = new MemoryStorage();
    const repo = await newStore(storage);
    const a = await snap(repo, [file('/a', 1)]);
    await snap(repo, [file('/b', 2)]);
    await repo.deleteResource('snapshot', a.id);
    const held = await acquireLock(repo, { exclusive: false }); // a backup running: dry-run still works
    const before = [...storage.store.resources.packfile.keys()];
    const states = storage.store.resources.state.size;
    const dry = await maintenance(repo, { now: later, dryRun: true });
    await held.release();
    expect(dry.dryRun).toBe(true);
    expect(dry.deleted).toBeGreaterThan(0);
    expect(dry.states).toBe(0);
    expect([...storage.store.resources.packfile.keys()]).toEqual(before);
    expect(storage.store.resources.state.size).toBe(states);
    const real = await maintenance(repo, { now: later });
    expect(real.deletedIds).toEqual(dry.deletedIds);
  });

  it('has the storage remove the leftovers of interrupted writes past the grace period, and reports them', async () => {
    const storage = new MemoryStorage();
    const repo = await newStore(storage);
    await snap(repo, [file('/a', 1)]);
    const leftovers = storage.store.leftovers!;
    leftovers.set('old-1', { size: 1000, modified: Date.now() - DAY - 60_000 });
    leftovers.set('old-2', { size: 234, modified: Date.now() - 2 * DAY });
    leftovers.set('young', { size: 5, modified: Date.now() - DAY + 60_000 });
    const dry = await maintenance(repo, { dryRun: true });
    expect(dry).toMatchObject({ leftovers: 0, leftoverBytes: 0 });
    expect(leftovers.size).toBe(3);
    expect(await maintenance(repo)).toMatchObject({ leftovers: 2, leftoverBytes: 1234 });
    expect([...leftovers.keys()]).toEqual(['young']);
    expect(await maintenance(repo, { graceMs: 0 })).toMatchObject({ leftovers: 1, leftoverBytes: 5 });
    expect(leftovers.size).toBe(0);
    expect((await check(repo)).ok).toBe(true);
  });

  it('packfiles no state lists (a writer that died) go after the grace period, or never without a time', async () => {
    const storage = new MemoryStorage();
    const repo = await newStore(storage);
    await snap(repo, [file('/kept', 1)]);
    const dying = track(await openTestRepository(storage, cache()));
    for (let i = 0; i < 5; i++) await dying.putBlob(BlobKind.Chunk, pseudoRandom(100 + i, 3000));
    await dying.close(); // uploads finished, no state: orphans
    const orphans = [...storage.store.resources.packfile.keys()].filter(
      (id) => repo.packfileStatus(Buffer.from(id, 'hex')) === undefined,
    );
    expect(orphans.length).toBeGreaterThanOrEqual(4);

    expect(await maintenance(repo)).toMatchObject({ deleted: 0, keptRecent: orphans.length });
    // A storage that gives no time: kept whatever the clock says.
    const times = new Map(storage.store.modified);
    for (const id of orphans) storage.store.modified!.delete(`packfile/${id}`);
    expect(await maintenance(repo, { now: later })).toMatchObject({
      deleted: 0,
      keptUnknownAge: orphans.length,
    });
    for (const [k, v] of times) storage.store.modified!.set(k, v);
    const done = await maintenance(repo, { now: later });
    expect(done.deleted).toBe(orphans.length);
    expect([...done.deletedIds].sort()).toEqual([...orphans].sort());
    expect((await check(repo)).ok).toBe(true);
  });

  it('writes the deletion state before deleting any packfile; a run stopped in between is finished later', async () => {
    class FailingDeletes extends RecordingStorage {
      failures = 1;
      override delete(kind: ResourceKind, id: string): Promise<void> {
        if (kind === 'packfile' && this.failures-- > 0) {
          this.calls.push(`delete ${kind}/${id} (failed)`);
          return Promise.reject(new Error('injected: cut off'));
        }
        return super.delete(kind, id);
      }
    }
    const mem = new MemoryStorage();
    const storage = new FailingDeletes(mem);
    const repo = await newStore(storage);
    const a = await snap(repo, [file('/a', 1)]);
    const b = await snap(repo, [file('/b', 2)]);
    const onlyA = await chunksOf(repo, a, '/a');
    await repo.deleteResource('snapshot', a.id);
    storage.calls.length = 0;
    await expect(maintenance(repo, { now: later, deleteConcurrency: 1 })).rejects.toThrow(
      'injected: cut off',
    );
    const firstStatePut = storage.calls.findIndex((c) => c.startsWith('put state/'));
    const firstDelete = storage.calls.findIndex((c) => c.startsWith('delete packfile/'));
    expect(firstStatePut).toBeGreaterThanOrEqual(0);
    expect(firstDelete).toBeGreaterThan(firstStatePut);
    // The lock was released, the packfiles are still there but out of every index.
    expect(mem.store.resources.lock.size).toBe(0);
    const fresh = track(await openTestRepository(mem, cache()));
    for (const c of onlyA) expect(fresh.hasBlob(BlobKind.Chunk, c.id)).toBe(false);
    const left = [...fresh.deletedPackfiles()].filter((id) =>
      mem.store.resources.packfile.has(Buffer.from(id).toString('hex')),
    );
    expect(left.length).toBeGreaterThan(0);

    // The next run (no grace needed: they are listed as deleted) finishes the job.
    const again = await maintenance(fresh);
    expect(again.unfinished).toBe(left.length);
    for (const id of left)
      expect(mem.store.resources.packfile.has(Buffer.from(id).toString('hex'))).toBe(false);
    expect((await check(fresh)).ok).toBe(true);
    expect((await content(fresh, b, '/b')).length).toBe(12_000);
  });

  it('refuses, deleting nothing, when a snapshot or a tree node cannot be read', async () => {
    const storage = new MemoryStorage();
    const repo = await newStore(storage);
    const a = await snap(repo, [file('/a', 1)]);
    await snap(repo, [file('/b', 2)]);
    const packs = storage.store.resources.packfile.size;
    // A corrupt header.
    const bad = repo.newResourceId();
    await storage.put('snapshot', Buffer.from(bad).toString('hex'), new Uint8Array(80));
    await expect(maintenance(repo, { now: later })).rejects.toThrow(
      /^maintenance stopped, nothing deleted: snapshot [0-9a-f]{64} cannot be read/,
    );
    await storage.delete('snapshot', Buffer.from(bad).toString('hex'));
    // A lost tree node: the root of a is in a packfile; drop that packfile.
    const rootPack = repo.locateBlob(BlobKind.Tree, a.root)!.packfile;
    storage.store.resources.packfile.delete(Buffer.from(rootPack).toString('hex'));
    await expect(maintenance(repo, { now: later })).rejects.toThrow(/tree node [0-9a-f]{64} cannot be read/);
    expect(storage.store.resources.packfile.size).toBe(packs - 1);
    expect(storage.store.resources.lock.size).toBe(0);
  });

  it('refuses while a backup holds its lock', async () => {
    const repo = await newStore();
    const held = await acquireLock(repo, { exclusive: false });
    await expect(maintenance(repo)).rejects.toThrow(
      /cannot take an exclusive lock: store is locked \(a shared lock\)/,
    );
    await held.release();
  });
});

/** A source that stops before yielding its `at`-th record until `go()` is called. */
class GatedSource implements Source {
  readonly info;
  readonly #inner: MemorySource;
  readonly #at: number;
  #open!: () => void;
  readonly #gate = new Promise<void>((r) => {
    this.#open = r;
  });
  reached!: () => void;
  readonly paused = new Promise<void>((r) => {
    this.reached = r;
  });

  constructor(entries: MemoryEntry[], at: number) {
    this.#inner = new MemorySource(entries);
    this.info = this.#inner.info;
    this.#at = at;
  }
  go(): void {
    this.#open();
  }
  async *scan(signal?: AbortSignal): AsyncGenerator<SourceRecord> {
    let i = 0;
    for await (const r of this.#inner.scan(signal)) {
      if (i++ === this.#at) {
        this.reached();
        await this.#gate;
      }
      yield r;
    }
  }
  async close(): Promise<void> {}
}

describe('maintenance against a backup running at the same time', () => {
  const entries = [file('/first', 10, 40_000), file('/second', 11, 40_000)];

  /** Starts a backup that stops midway with packfiles uploaded and no state; returns it and its parts. */
  async function pausedBackup() {
    const storage = new MemoryStorage();
    const setup = await newStore(storage);
    await snap(setup, [file('/old', 1)]);
    const writer = track(await openTestRepository(storage, cache()));
    const source = new GatedSource(entries, 2); // root, /first, then waits before /second
    const running = backup(writer, source, { parent: null });
    await source.paused;
    // /first's chunks are uploaded (packfiles of one chunk each); no state lists them yet.
    for (
      let i = 0;
      i < 200 &&
      [...storage.store.resources.packfile.keys()].filter(
        (id) => setup.packfileStatus(Buffer.from(id, 'hex')) === undefined,
      ).length < 5;
      i++
    ) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const unindexed = [...storage.store.resources.packfile.keys()].filter(
      (id) => setup.packfileStatus(Buffer.from(id, 'hex')) === undefined,
    );
    expect(unindexed.length).toBeGreaterThanOrEqual(5);
    const maint = track(await openTestRepository(storage, cache()));
    return { storage, source, running, maint, unindexed };
  }

  it("a stale-locked writer's packfiles without a state are protected by the grace period", async () => {
    const { storage, source, running, maint, unindexed } = await pausedBackup();
    // The writer's lock counts as stale (staleAfterMs 0): maintenance runs beside it.
    await new Promise((r) => setTimeout(r, 5));
    const result = await maintenance(maint, { lock: { staleAfterMs: 0 } });
    expect(result.deleted).toBe(0);
    expect(result.keptRecent).toBeGreaterThanOrEqual(unindexed.length);
    for (const id of unindexed) expect(storage.store.resources.packfile.has(id)).toBe(true);
    source.go();
    const { header } = await running;
    const after = track(await openTestRepository(storage, cache()));
    expect((await check(after)).ok).toBe(true);
    expect((await content(after, header, '/first')).equals(Buffer.from(pseudoRandom(10, 40_000)))).toBe(true);
  });

  it('without the grace period the same run would destroy the backup (what the grace period prevents)', async () => {
    const { storage, source, running, maint } = await pausedBackup();
    await new Promise((r) => setTimeout(r, 5));
    const result = await maintenance(maint, { lock: { staleAfterMs: 0 }, graceMs: 0 });
    expect(result.deleted).toBeGreaterThanOrEqual(5);
    source.go();
    await running;
    const after = track(await openTestRepository(storage, cache()));
    const r = await check(after, { fast: true });
    expect(r.ok).toBe(false);
    expect(r.reports.some((p) => p.path === '/first')).toBe(true);
  });

  it('with the lock of the running backup fresh, maintenance does not run at all', async () => {
    const { source, running, maint } = await pausedBackup();
    await expect(maintenance(maint)).rejects.toThrow(/store is locked \(a shared lock\)/);
    source.go();
    await running;
  });
});
