/** The index cache's pending blobs (held in memory per session) and their move into the index. */
import { MemoryStorage } from '@kloset/connector-contract/testing';
import { expect, it, onTestFinished, vi } from 'vitest';
import { toHex } from '../src/encoding/bytes.ts';
import type { PackIndexEntry } from '../src/packfile/index-codec.ts';
import { BlobBloom, bloomBytesFor } from '../src/repository/blob-bloom.ts';
import { BlobIdMap } from '../src/repository/blob-id-map.ts';
import { BlobKind } from '../src/repository/blob-store.ts';
import { BlobWriter, type BlobWriterOptions } from '../src/repository/blob-writer.ts';
import { IndexCache, PendingPackStatus } from '../src/repository/index-cache.ts';
import { pseudoRandom, tempDir, testKeys } from './repository-helpers.ts';

const STORE = pseudoRandom(99, 32);

/** A cache in a fresh directory (or `dir`), closed when the test ends. */
function openCache(dir?: string): { cache: IndexCache; dir: string } {
  let path = dir;
  if (path === undefined) {
    const d = tempDir('kloset-index-');
    onTestFinished(d.cleanup);
    path = d.path;
  }
  const cache = IndexCache.open(path, STORE);
  onTestFinished(() => cache.close());
  return { cache, dir: path };
}

/** `n` entries of 100 bytes each, from `seed`. */
function entries(seed: number, n: number, kind: BlobKind = BlobKind.Chunk): PackIndexEntry[] {
  return Array.from({ length: n }, (_, i) => ({
    kind,
    id: pseudoRandom(seed * 1000 + i + 1, 32),
    offset: i * 100,
    length: 100,
    rawLength: 60 + i,
  }));
}

/** A packfile with `blobs`, added as pending to `cache` and moved to `status`. */
function pendingPack(cache: IndexCache, seed: number, blobs: PackIndexEntry[], status: PendingPackStatus) {
  const id = pseudoRandom(seed, 32);
  cache.addPendingPack(id);
  for (const b of blobs) cache.addPendingBlob(id, b);
  if (status !== PendingPackStatus.Filling)
    cache.setPendingPackStatus(id, PendingPackStatus.Uploading, 5000 + seed);
  if (status === PendingPackStatus.Uploaded) cache.setPendingPackStatus(id, PendingPackStatus.Uploaded);
  return id;
}

it('pending blobs are visible before any state lists them, and gone after clearPending', () => {
  const { cache } = openCache();
  const blobs = entries(1, 3);
  const pack = pendingPack(cache, 1, blobs, PendingPackStatus.Uploading);
  const b = blobs[1]!;
  expect(cache.has(b.kind, b.id)).toBe(true);
  expect(cache.has(BlobKind.Tree, b.id)).toBe(false); // same id, other kind
  expect(cache.has(BlobKind.Chunk, pseudoRandom(12345, 32))).toBe(false);
  const where = cache.locate(b.kind, b.id);
  expect(where && toHex(where.packfile)).toBe(toHex(pack));
  expect(where).toMatchObject({ kind: b.kind, offset: 100, length: 100, rawLength: 61 });
  expect(cache.locatePending(b.kind, b.id)).toEqual(where);
  expect(cache.packfileSize(pack)).toBe(5001);
  expect(cache.stats()).toMatchObject({ pendingBlobs: 3, blobs: 0 });
  // not uploaded yet: nothing to list
  expect(cache.pendingUploadedCount()).toBe(0);
  expect(cache.pendingUploaded(10)).toEqual([]);

  cache.clearPending();
  expect(cache.has(b.kind, b.id)).toBe(false);
  expect(cache.locate(b.kind, b.id)).toBeUndefined();
  expect(cache.packfileSize(pack)).toBeUndefined();
  expect(cache.stats()).toMatchObject({ pendingBlobs: 0, blobs: 0 });
});

it('uploaded blobs are handed out by packfile and offset, up to the limit, and indexed by commitState', () => {
  const { cache } = openCache();
  const first = entries(1, 5);
  const second = entries(2, 4, BlobKind.Tree);
  const p1 = pendingPack(cache, 1, first, PendingPackStatus.Uploaded);
  const filling = pendingPack(cache, 3, entries(3, 2), PendingPackStatus.Filling);
  const p2 = pendingPack(cache, 2, second, PendingPackStatus.Uploaded);
  expect(cache.pendingUploadedCount()).toBe(9);

  // a state of at most 7 blobs: all of p1, the first 2 of p2 (the filling packfile is skipped)
  const batch = cache.pendingUploaded(7);
  expect(batch.map((p) => [toHex(p.id), p.size, p.blobs.length])).toEqual([
    [toHex(p1), 5001, 5],
    [toHex(p2), 5002, 2],
  ]);
  expect(batch[1]!.blobs).toEqual(second.slice(0, 2));
  expect(cache.pendingUploaded(7)).toEqual(batch); // the same until committed

  cache.commitState(pseudoRandom(500, 32), batch, 1_700_000_000);
  expect(cache.pendingUploadedCount()).toBe(2);
  expect(cache.stats()).toMatchObject({ states: 1, packfiles: 2, blobs: 7, pendingBlobs: 4 });
  // now indexed: found in the database, at the same place
  const b = second[1]!;
  expect(cache.locatePending(b.kind, b.id)).toBeUndefined();
  expect(cache.locate(b.kind, b.id)).toMatchObject({ offset: 100, length: 100, rawLength: 61 });
  expect(toHex(cache.locate(b.kind, b.id)!.packfile)).toBe(toHex(p2));
  // the rest of p2 still pending, and listed next
  const rest = cache.pendingUploaded(100);
  expect(rest.map((p) => [toHex(p.id), p.blobs.length])).toEqual([[toHex(p2), 2]]);
  expect(rest[0]!.blobs).toEqual(second.slice(2));
  cache.commitState(pseudoRandom(501, 32), rest, 1_700_000_001);
  expect(cache.pendingUploadedCount()).toBe(0);
  expect(cache.pendingUploaded(100)).toEqual([]);
  expect(cache.stats()).toMatchObject({ states: 2, blobs: 9, pendingBlobs: 2 });
  expect(cache.packfileSize(p2)).toBe(5002); // from the index now
  expect(cache.packfileBlobs(p2).map((l) => l.offset)).toEqual([0, 100, 200, 300]);
  // the packfile still being filled is untouched
  const f = entries(3, 2)[0]!;
  expect(toHex(cache.locatePending(f.kind, f.id)!.packfile)).toBe(toHex(filling));
});

it('a failed commit keeps the blobs pending', () => {
  const { cache } = openCache();
  const blobs = entries(1, 3);
  pendingPack(cache, 1, blobs, PendingPackStatus.Uploaded);
  const batch = cache.pendingUploaded(10);
  const bad = [{ ...batch[0]!, blobs: [{ ...blobs[0]!, offset: {} as unknown as number }] }];
  expect(() => cache.commitState(pseudoRandom(500, 32), bad, 1)).toThrow(/local cache/);
  expect(cache.stats()).toMatchObject({ states: 0, blobs: 0, pendingBlobs: 3 });
  expect(cache.pendingUploaded(10)).toEqual(batch);
});

it('a blob pending in one instance is invisible to another sharing the file until its state is written', () => {
  const { cache: a, dir } = openCache();
  const { cache: b } = openCache(dir);
  const blobs = entries(1, 2);
  pendingPack(a, 1, blobs, PendingPackStatus.Uploaded);
  const x = blobs[0]!;
  expect(a.has(x.kind, x.id)).toBe(true);
  expect(b.has(x.kind, x.id)).toBe(false);
  expect(b.locate(x.kind, x.id)).toBeUndefined();
  a.commitState(pseudoRandom(500, 32), a.pendingUploaded(10), 1);
  expect(b.locate(x.kind, x.id)).toMatchObject({ offset: 0, length: 100 });
  expect(b.isStateApplied(pseudoRandom(500, 32))).toBe(true);
  // b's Bloom filter learns of a's blobs at its next check of the index's generation
  vi.useFakeTimers({ toFake: ['Date'] });
  try {
    vi.setSystemTime(Date.now() + 1000);
    expect(b.has(x.kind, x.id)).toBe(true);
    expect(b.has(blobs[1]!.kind, blobs[1]!.id)).toBe(true);
    expect(b.bloomStats()).toMatchObject({ complete: true, scans: 1 });
  } finally {
    vi.useRealTimers();
  }
});

/** Indexes `n` blobs in packfiles of 1,000 through applyState (as a sync does); returns their ids. */
function indexBlobs(cache: IndexCache, seed: number, n: number): Uint8Array[] {
  const ids: Uint8Array[] = [];
  const packfiles = [];
  for (let p = 0; p * 1000 < n; p++) {
    const blobs = entries(seed + p, Math.min(1000, n - p * 1000));
    for (const b of blobs) ids.push(b.id);
    packfiles.push({ id: pseudoRandom(seed * 7 + p, 32), size: 100_000, blobs });
  }
  cache.applyState(pseudoRandom(seed + 999_999, 32), packfiles, [], 1);
  return ids;
}

it('the Bloom filter of indexed ids is saved on close and reused, not rebuilt, by the next session', () => {
  const { cache, dir } = openCache();
  const absent = pseudoRandom(424242, 32);
  expect(cache.has(BlobKind.Chunk, absent)).toBe(false);
  expect(cache.bloomStats()).toMatchObject({ count: 0, scans: 0, complete: true }); // a new cache's
  const ids = indexBlobs(cache, 1, 3000);
  for (const id of ids) expect(cache.has(BlobKind.Chunk, id)).toBe(true);
  // every row inserted as given (in batches of several rows per statement)
  const second = cache.packfileBlobs(pseudoRandom(8, 32));
  expect(second.map((l) => [toHex(l.id), l.kind, l.offset, l.length, l.rawLength])).toEqual(
    entries(2, 1000).map((e) => [toHex(e.id), e.kind, e.offset, e.length, e.rawLength]),
  );
  expect(cache.stats()).toMatchObject({ blobs: 3000, packfiles: 3 });
  expect(cache.bloomStats()).toMatchObject({ count: 3000, scans: 0, complete: true });
  cache.close();

  const { cache: again } = openCache(dir);
  expect(again.has(BlobKind.Chunk, absent)).toBe(false);
  expect(again.bloomStats()).toMatchObject({ count: 3000, scans: 0, complete: true });
  for (const id of ids) expect(again.has(BlobKind.Chunk, id)).toBe(true);
  // a state applied at open (before any lookup) keeps the saved filter up to date
  again.close();
  const { cache: third } = openCache(dir);
  const more = indexBlobs(third, 50, 500);
  expect(third.has(BlobKind.Chunk, more[0]!)).toBe(true);
  expect(third.bloomStats()).toMatchObject({ count: 3500, scans: 0, complete: true });
});

it('a filter that misses blobs (a session that never closed) is rebuilt with one scan, then saved', () => {
  const { cache: a, dir } = openCache();
  const ids = indexBlobs(a, 1, 2000);
  expect(a.has(BlobKind.Chunk, ids[0]!)).toBe(true);
  // `a` never closes (as after kill -9): the saved filter is the empty one, of an older generation
  const { cache: c } = openCache(dir);
  for (const id of ids) expect(c.has(BlobKind.Chunk, id)).toBe(true);
  expect(c.has(BlobKind.Chunk, pseudoRandom(424242, 32))).toBe(false);
  expect(c.bloomStats()).toMatchObject({ count: 2000, scans: 1, complete: true });
  c.close();
  const { cache: d } = openCache(dir);
  expect(d.has(BlobKind.Chunk, ids[1]!)).toBe(true);
  expect(d.bloomStats()).toMatchObject({ count: 2000, scans: 0, complete: true });
});

it('a crowded filter grows (one scan), up to maxBloomBytes, and never reports an indexed blob absent', () => {
  const dir = tempDir('kloset-index-');
  onTestFinished(dir.cleanup);
  const small = IndexCache.open(dir.path, STORE, { maxBloomBytes: 64 * 1024 });
  onTestFinished(() => small.close());
  const ids = indexBlobs(small, 1, 50_000); // past what 64 KiB is meant for: it stays 64 KiB
  for (const id of ids) expect(small.has(BlobKind.Chunk, id)).toBe(true);
  expect(small.bloomStats()).toMatchObject({ bytes: 64 * 1024, count: 50_000, scans: 0 });
  small.close();
  const big = IndexCache.open(dir.path, STORE, { maxBloomBytes: 128 * 1024 });
  onTestFinished(() => big.close());
  expect(big.has(BlobKind.Chunk, ids[5]!)).toBe(true);
  expect(big.bloomStats()).toMatchObject({ bytes: 128 * 1024, count: 50_000, scans: 1 });
  for (let i = 0; i < 20_000; i++)
    expect(big.has(BlobKind.Chunk, pseudoRandom(5_000_000 + i, 32))).toBe(false);
  for (const id of ids) expect(big.has(BlobKind.Chunk, id)).toBe(true);
});

it('recent blobs move to the main level in one sweep past its bound, and are found in either level', () => {
  const { cache, dir } = openCache();
  indexBlobs(cache, 1, 20_000);
  expect(cache.levelStats()).toEqual({ newRows: 20_000, rows: 0, sweeps: 0 });
  const swept = indexBlobs(cache, 100, 50_000); // 70,000 rows: past the least bound (65,536)
  expect(cache.levelStats()).toEqual({ newRows: 0, rows: 70_000, sweeps: 1 });
  const recent = entries(900, 10);
  cache.applyState(pseudoRandom(901, 32), [{ id: pseudoRandom(902, 32), size: 1000, blobs: recent }], [], 2);
  // A second copy of a swept row (a state listing the same location again) is in the new level too.
  const again = entries(100, 1)[0]!;
  cache.applyState(pseudoRandom(903, 32), [{ id: pseudoRandom(100 * 7, 32), blobs: [again] }], [], 3);
  expect(cache.levelStats()).toEqual({ newRows: 11, rows: 70_000, sweeps: 1 });
  for (const [id, level] of [
    [swept[7]!, 'main'],
    [recent[3]!.id, 'recent'],
  ] as const) {
    expect(cache.has(BlobKind.Chunk, id), level).toBe(true);
    expect(cache.locate(BlobKind.Chunk, id), level).toBeDefined();
  }
  expect(cache.locate(BlobKind.Chunk, recent[3]!.id)).toMatchObject({ offset: 300, rawLength: 63 });
  expect(cache.stats().blobs).toBe(70_010); // the row in both levels counted once
  expect(cache.packfileBlobs(pseudoRandom(100 * 7, 32)).map((l) => l.offset)).toEqual(
    entries(100, 1000).map((e) => e.offset),
  );
  expect(cache.packfileBlobs(pseudoRandom(902, 32))).toHaveLength(10);
  // forgetBlob drops a copy from whichever level holds it.
  cache.forgetBlob(BlobKind.Chunk, swept[7]!, pseudoRandom(100 * 7, 32));
  cache.forgetBlob(BlobKind.Chunk, recent[3]!.id, pseudoRandom(902, 32));
  cache.forgetBlob(BlobKind.Chunk, again.id, pseudoRandom(100 * 7, 32));
  for (const id of [swept[7]!, recent[3]!.id, again.id])
    expect(cache.locate(BlobKind.Chunk, id)).toBeUndefined();
  expect(cache.stats().blobs).toBe(70_007);
  cache.close();
  // Another connection counts the recent level at open, and a rebuilt filter covers both levels.
  const { cache: next } = openCache(dir);
  expect(next.levelStats()).toEqual({ newRows: 9, rows: 69_998, sweeps: 0 });
  next.applyState(pseudoRandom(904, 32), [{ id: pseudoRandom(905, 32), blobs: entries(950, 1) }], [], 4);
  expect(next.has(BlobKind.Chunk, recent[4]!.id)).toBe(true);
  expect(next.has(BlobKind.Chunk, swept[8]!)).toBe(true);
});

it('a blob rewritten (maintenance) is pending in its new packfile while the index has the old copy', () => {
  const { cache } = openCache();
  const blobs = entries(1, 1);
  pendingPack(cache, 1, blobs, PendingPackStatus.Uploaded);
  cache.commitState(pseudoRandom(500, 32), cache.pendingUploaded(10), 1);
  const x = blobs[0]!;
  const moved = { ...x, offset: 700 };
  const p2 = pendingPack(cache, 2, [moved], PendingPackStatus.Uploaded);
  expect(cache.locate(x.kind, x.id)?.offset).toBe(0); // the indexed copy first
  expect(toHex(cache.locatePending(x.kind, x.id)!.packfile)).toBe(toHex(p2));
  cache.commitState(pseudoRandom(501, 32), cache.pendingUploaded(10), 2);
  expect(cache.stats()).toMatchObject({ blobs: 2, pendingBlobs: 0 });
});

it('BlobIdMap keeps ids sharing their first bytes apart, and kinds apart', () => {
  const map = new BlobIdMap<number>();
  const a = pseudoRandom(1, 32);
  const b = new Uint8Array(a);
  b[31] = (b[31]! + 1) & 0xff; // same hash bits, other id
  const c = new Uint8Array(a);
  c[3] = c[3]! ^ 0x40; // differs only in bits the hash ignores
  map.set(BlobKind.Chunk, a, 1);
  map.set(BlobKind.Chunk, b, 2);
  map.set(BlobKind.Chunk, c, 3);
  map.set(BlobKind.Tree, a, 4);
  expect(map.size).toBe(4);
  expect([map.get(1, a), map.get(1, b), map.get(1, c), map.get(2, a)]).toEqual([1, 2, 3, 4]);
  expect(map.get(BlobKind.Tree, b)).toBeUndefined();
  map.set(BlobKind.Chunk, new Uint8Array(b), 5); // replaces by value, not by reference
  expect(map.size).toBe(4);
  expect(map.delete(BlobKind.Chunk, b)).toBe(true);
  expect(map.delete(BlobKind.Chunk, b)).toBe(false);
  expect([map.get(1, a), map.get(1, b), map.get(1, c), map.get(2, a)]).toEqual([1, undefined, 3, 4]);
  expect(map.delete(BlobKind.Chunk, a)).toBe(true);
  expect([map.get(1, c), map.get(2, a), map.size]).toEqual([3, 4, 2]);
  map.clear();
  expect([map.get(1, c), map.size]).toEqual([undefined, 0]);
});

/** A BlobWriter of a plaintext store, without compression, on a MemoryStorage and a new cache. */
async function plainWriter(extra: Partial<BlobWriterOptions> = {}) {
  const { provider, keyRing } = await testKeys(true);
  const { cache } = openCache();
  const storage = new MemoryStorage();
  const options = { storage, provider, keyRing, cache, packfileSize: 1 << 20, compression: 'none' as const };
  return { w: new BlobWriter({ ...options, ...extra }), cache, storage };
}

it('a write session through BlobWriter: states of stateMaxBlobs, nothing left pending after flush', async () => {
  const { w, cache, storage } = await plainWriter({ packfileSize: 4096, stateMaxBlobs: 25 });
  const data = Array.from({ length: 120 }, (_, i) => pseudoRandom(i + 1, 100));
  const ids: Uint8Array[] = [];
  for (const d of data) ids.push((await w.putBlob(BlobKind.Chunk, d)).id);
  // before flush: all pending or indexed, readable through the cache
  for (const id of ids) expect(cache.has(BlobKind.Chunk, id)).toBe(true);
  expect(cache.stats().pendingBlobs).toBeGreaterThan(0);
  // a second put of the same data stores nothing
  expect(await w.putBlob(BlobKind.Chunk, data[7]!)).toMatchObject({ stored: false });
  await w.flush();
  const stats = cache.stats();
  expect(stats).toMatchObject({ blobs: 120, pendingBlobs: 0 });
  expect(stats.states).toBeGreaterThanOrEqual(Math.ceil(120 / 25));
  expect(cache.pendingUploadedCount()).toBe(0);
  for (const id of ids) expect(cache.locatePending(BlobKind.Chunk, id)).toBeUndefined();
  expect(storage.store.resources.state.size).toBe(stats.states);
});

it('abandon forgets the pending blobs of the session', async () => {
  const { w, cache } = await plainWriter();
  const { id } = await w.putBlob(BlobKind.Chunk, pseudoRandom(1, 100));
  expect(cache.has(BlobKind.Chunk, id)).toBe(true);
  await w.abandon();
  expect(cache.has(BlobKind.Chunk, id)).toBe(false);
  expect(cache.stats()).toMatchObject({ blobs: 0, pendingBlobs: 0 });
});

it('BlobBloom: no id added is ever reported absent, few others are "maybe", and it round-trips', () => {
  const bloom = new BlobBloom(bloomBytesFor(20_000, 1 << 30));
  const added = Array.from({ length: 20_000 }, (_, i) => pseudoRandom(i + 1, 32));
  for (const id of added) bloom.add(id);
  expect(added.every((id) => bloom.mayHave(id))).toBe(true);
  let maybe = 0;
  for (let i = 0; i < 20_000; i++) if (bloom.mayHave(pseudoRandom(1_000_000 + i, 32))) maybe++;
  expect(maybe).toBeLessThan(20_000 * 0.01); // sized for 24 bits per id, 7 bits each
  const bytes = bloom.serialize(41);
  expect(BlobBloom.deserialize(bytes, 40)).toBeUndefined(); // another generation
  expect(BlobBloom.deserialize(bytes.subarray(0, bytes.length - 1), 41)).toBeUndefined();
  const back = BlobBloom.deserialize(bytes, 41)!;
  expect(back.count).toBe(20_000);
  expect(added.every((id) => back.mayHave(id))).toBe(true);
});

it('BlobWriter: new blobs wait while twice a state of uploaded blobs wait for a state write', async () => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  class SlowStates extends MemoryStorage {
    override async put(...args: Parameters<MemoryStorage['put']>): Promise<void> {
      if (args[0] === 'state') await gate;
      return super.put(...args);
    }
  }
  const storage = new SlowStates();
  const { w, cache } = await plainWriter({ storage, packfileSize: 2048, stateMaxBlobs: 10 });
  let done = 0;
  const writing = (async () => {
    for (let i = 0; i < 200; i++) {
      await w.putBlob(BlobKind.Chunk, pseudoRandom(i + 1, 100));
      done++;
    }
  })();
  await new Promise((resolve) => setTimeout(resolve, 200));
  // Stuck: the state write cannot finish, and no more than ~2 states' worth wait in memory.
  const stuckAt = done;
  expect(stuckAt).toBeLessThan(200);
  expect(cache.pendingUploadedCount()).toBeLessThan(2 * 10 + 20);
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(done).toBe(stuckAt);
  release();
  await writing;
  await w.flush();
  expect(cache.stats()).toMatchObject({ blobs: 200, pendingBlobs: 0 });
});
