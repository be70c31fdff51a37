import { createHash } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryStorage } from '@kloset/connector-contract/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WrongPassphraseError } from '../src/crypto/errors.ts';
import { sealResource } from '../src/crypto/seal.ts';
import { toHex } from '../src/encoding/bytes.ts';
import { BlobKind } from '../src/repository/blob-store.ts';
import { CorruptBlobError, CorruptResourceError, MissingBlobError } from '../src/repository/errors.ts';
import { INDEX_CACHE_FILE } from '../src/repository/index-cache.ts';
import { Repository } from '../src/repository/repository.ts';
import { encodeState } from '../src/repository/state-codec.ts';
import {
  allStoredBytes,
  containsBytes,
  createOptions,
  createTestRepository,
  openTestRepository,
  pseudoRandom,
  RecordingStorage,
  tempDir,
} from './repository-helpers.ts';

let dir: { path: string; cleanup: () => void };
const open: Repository[] = [];
beforeEach(() => {
  dir = tempDir();
});
afterEach(async () => {
  for (const r of open.splice(0)) await r.close();
  dir.cleanup();
});

function track(repo: Repository): Repository {
  open.push(repo);
  return repo;
}

function cache(name: string): string {
  return join(dir.path, name);
}

function blobs(count: number, seed = 0): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => pseudoRandom(seed + i + 1, 100 + ((i * 7919) % 5000)));
}

describe('Repository round trip', () => {
  it('stores many blobs in several packfiles and reads them back, before and after flush', async () => {
    const { repo, storage } = await createTestRepository(cache('a'), { packfileSize: 32 * 1024 });
    track(repo);
    const data = blobs(300);
    const ids = [];
    for (const d of data) {
      const r = await repo.putBlob(BlobKind.Chunk, d);
      expect(r.stored).toBe(true);
      expect(r.storedBytes).toBeGreaterThan(0);
      ids.push(r.id);
    }
    // Readable before flush (from memory or from uploaded, unlisted packfiles).
    expect(toHex(await repo.getBlob(BlobKind.Chunk, ids[0]!))).toBe(toHex(data[0]!));
    expect(toHex(await repo.getBlob(BlobKind.Chunk, ids[299]!))).toBe(toHex(data[299]!));
    await repo.flush();
    const mem = storage as MemoryStorage;
    expect(mem.store.resources.packfile.size).toBeGreaterThan(10);
    expect(mem.store.resources.state.size).toBe(1);
    for (const [i, id] of ids.entries()) {
      expect(toHex(await repo.getBlob(BlobKind.Chunk, id))).toBe(toHex(data[i]!));
    }
    expect(repo.indexStats()).toMatchObject({ blobs: 300, pendingBlobs: 0, states: 1 });

    // Another instance, same cache; and a fresh cache rebuilt from the states.
    for (const c of ['a', 'b']) {
      const again = track(await openTestRepository(storage, cache(c)));
      for (const [i, id] of ids.entries()) {
        expect(toHex(await again.getBlob(BlobKind.Chunk, id))).toBe(toHex(data[i]!));
      }
    }
  });

  it('keeps blob kinds apart: same data as chunk and tree are two blobs in two packfiles', async () => {
    const { repo, storage } = await createTestRepository(cache('a'));
    track(repo);
    const d = pseudoRandom(1, 1000);
    const a = await repo.putBlob(BlobKind.Chunk, d);
    const b = await repo.putBlob(BlobKind.Tree, d);
    expect(b.stored).toBe(true);
    await repo.flush();
    expect((storage as MemoryStorage).store.resources.packfile.size).toBe(2);
    expect(toHex(repo.locateBlob(BlobKind.Chunk, a.id)!.packfile)).not.toBe(
      toHex(repo.locateBlob(BlobKind.Tree, b.id)!.packfile),
    );
    expect(await repo.getBlob(BlobKind.Tree, b.id)).toEqual(d);
  });

  it('handles empty blobs', async () => {
    const { repo } = await createTestRepository(cache('a'));
    track(repo);
    const r = await repo.putBlob(BlobKind.Chunk, new Uint8Array(0));
    await repo.flush();
    expect((await repo.getBlob(BlobKind.Chunk, r.id)).length).toBe(0);
  });

  it('works on a plaintext store', async () => {
    const storage = new MemoryStorage();
    const repo = track(await Repository.create(storage, { plaintext: true, cacheDir: cache('a') }));
    const data = blobs(20);
    const ids = [];
    for (const d of data) ids.push((await repo.putBlob(BlobKind.Chunk, d)).id);
    await repo.flush();
    const again = track(await Repository.open(storage, { cacheDir: cache('b') }));
    for (const [i, id] of ids.entries()) expect(await again.getBlob(BlobKind.Chunk, id)).toEqual(data[i]);
  });
});

describe('deduplication', () => {
  it('stores the same data once: in a session, across instances, and with a rebuilt cache', async () => {
    const { repo, storage } = await createTestRepository(cache('a'));
    track(repo);
    const mem = storage as MemoryStorage;
    const d = pseudoRandom(42, 10_000);
    const first = await repo.putBlob(BlobKind.Chunk, d);
    const second = await repo.putBlob(BlobKind.Chunk, d);
    expect(first.stored).toBe(true);
    expect(second).toEqual({ id: first.id, stored: false, storedBytes: 0 });
    expect(repo.hasBlob(BlobKind.Chunk, first.id)).toBe(true);
    await repo.flush();
    expect(mem.store.resources.packfile.size).toBe(1);

    const other = track(await openTestRepository(storage, cache('a')));
    expect((await other.putBlob(BlobKind.Chunk, d)).stored).toBe(false);
    const fresh = track(await openTestRepository(storage, cache('fresh')));
    expect(fresh.hasBlob(BlobKind.Chunk, first.id)).toBe(true);
    expect((await fresh.putBlob(BlobKind.Chunk, d)).stored).toBe(false);
    await fresh.flush();
    expect(mem.store.resources.packfile.size).toBe(1);
    expect(mem.store.resources.state.size).toBe(1);
  });

  it('stores data put concurrently by many callers once', async () => {
    const { repo, storage } = await createTestRepository(cache('a'));
    track(repo);
    const d = pseudoRandom(7, 200_000);
    const results = await Promise.all(Array.from({ length: 10 }, () => repo.putBlob(BlobKind.Chunk, d)));
    expect(results.filter((r) => r.stored)).toHaveLength(1);
    await repo.flush();
    expect(repo.indexStats().blobs).toBe(1);
    expect((storage as MemoryStorage).store.resources.packfile.size).toBe(1);
  });
});

describe('corruption', () => {
  it('a flipped byte in a stored packfile makes getBlob throw naming blob and packfile', async () => {
    const { repo, storage } = await createTestRepository(cache('a'));
    track(repo);
    const data = blobs(5);
    const ids = [];
    for (const d of data) ids.push((await repo.putBlob(BlobKind.Chunk, d)).id);
    await repo.flush();
    const loc = repo.locateBlob(BlobKind.Chunk, ids[2]!)!;
    const mem = storage as MemoryStorage;
    const pack = mem.store.resources.packfile.get(toHex(loc.packfile))!;
    pack[loc.offset + Math.floor(loc.length / 2)]! ^= 0x01;

    const err = await repo.getBlob(BlobKind.Chunk, ids[2]!).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptBlobError);
    expect((err as Error).message).toContain(toHex(ids[2]!));
    expect((err as Error).message).toContain(toHex(loc.packfile));
    // The neighbours are fine.
    expect(await repo.getBlob(BlobKind.Chunk, ids[1]!)).toEqual(data[1]);
    expect(await repo.getBlob(BlobKind.Chunk, ids[3]!)).toEqual(data[3]);
    // getBlobs reports it as an error result and delivers the others.
    const results = [];
    for await (const r of repo.getBlobs(BlobKind.Chunk, ids)) results.push(r);
    expect(results.filter((r) => !r.ok).map((r) => r.index)).toEqual([2]);
  });

  it('a missing packfile gives MissingBlobError naming the blob', async () => {
    const { repo, storage } = await createTestRepository(cache('a'));
    track(repo);
    const r = await repo.putBlob(BlobKind.Chunk, pseudoRandom(1, 100));
    await repo.flush();
    (storage as MemoryStorage).store.resources.packfile.clear();
    await expect(repo.getBlob(BlobKind.Chunk, r.id)).rejects.toThrow(MissingBlobError);
    await expect(repo.getBlob(BlobKind.Chunk, pseudoRandom(2, 32))).rejects.toThrow(/not in the index/);
  });
});

describe('keys and confidentiality', () => {
  it('a wrong passphrase fails before anything is written (store and cache untouched)', async () => {
    const { repo, storage } = await createTestRepository(cache('a'));
    await repo.putBlob(BlobKind.Chunk, pseudoRandom(1, 100));
    await repo.flush();
    await repo.close();
    const recording = new RecordingStorage(storage);
    await expect(
      Repository.open(recording, { passphrase: 'wrong', cacheDir: cache('other') }),
    ).rejects.toThrow(WrongPassphraseError);
    expect(recording.calls).toEqual(['open']);
    expect(existsSync(cache('other'))).toBe(false);
    await expect(Repository.open(storage, { cacheDir: cache('other') })).rejects.toThrow(/passphrase/);
  });

  it('no plaintext marker nor SHA-256 of the data appears in any stored byte', async () => {
    const marker = new TextEncoder().encode('KLOSET-SECRET-MARKER-7f3a9');
    const compressible = new Uint8Array(Buffer.from(`${'KLOSET-SECRET-MARKER-7f3a9 '.repeat(2000)}`));
    const incompressible = new Uint8Array([...marker, ...pseudoRandom(9, 50_000), ...marker]);
    const small = marker.slice();
    const storage = new MemoryStorage();
    const repo = track(await Repository.create(storage, createOptions(cache('a'))));
    for (const d of [compressible, incompressible, small]) await repo.putBlob(BlobKind.Chunk, d);
    await repo.putBlob(BlobKind.Tree, compressible);
    await repo.flush();
    const snapId = repo.newResourceId();
    await repo.putResource('snapshot', snapId, new Uint8Array([...marker, ...marker]));
    const lock = await repo.lock({ exclusive: false });
    const hashes = [compressible, incompressible, small].map((d) => createHash('sha256').update(d).digest());
    for (const bytes of allStoredBytes(storage)) {
      expect(containsBytes(bytes, marker)).toBe(false);
      for (const h of hashes) expect(containsBytes(bytes, h)).toBe(false);
    }
    for (const kind of ['packfile', 'state', 'snapshot', 'lock'] as const) {
      for (const id of storage.store.resources[kind].keys()) {
        for (const h of hashes) expect(id).not.toContain(h.toString('hex'));
      }
    }
    await lock.release();

    // The scan itself works: a plaintext store does contain the marker.
    const plain = new MemoryStorage();
    const p = track(await Repository.create(plain, { plaintext: true, cacheDir: cache('p') }));
    await p.putBlob(BlobKind.Chunk, incompressible);
    await p.flush();
    expect(allStoredBytes(plain).some((b) => containsBytes(b, marker))).toBe(true);
  });
});

describe('packfile size target', () => {
  it('keeps every packfile at or under the target, except a single larger blob', async () => {
    const target = 16 * 1024;
    const { repo, storage } = await createTestRepository(cache('a'), { packfileSize: target });
    track(repo);
    for (let i = 0; i < 200; i++)
      await repo.putBlob(BlobKind.Chunk, pseudoRandom(i + 1, 500 + ((i * 37) % 1500)));
    const big = await repo.putBlob(BlobKind.Chunk, pseudoRandom(999, 40_000));
    await repo.flush();
    const mem = storage as MemoryStorage;
    const bigPack = toHex(repo.locateBlob(BlobKind.Chunk, big.id)!.packfile);
    let sum = 0;
    for (const [id, bytes] of mem.store.resources.packfile) {
      if (id === bigPack) {
        expect(bytes.length).toBeGreaterThan(40_000);
        continue;
      }
      expect(bytes.length).toBeLessThanOrEqual(target);
      sum += bytes.length;
    }
    // Packfiles are reasonably full (not closed early).
    const others = mem.store.resources.packfile.size - 1;
    expect(sum / others).toBeGreaterThan(target * 0.85);
  });
});

describe('states', () => {
  it('splits states at the configured number of blobs; a fresh cache rebuilds from them', async () => {
    const { repo, storage } = await createTestRepository(cache('a'), {
      stateMaxBlobs: 50,
      packfileSize: 8192,
    });
    track(repo);
    const data = blobs(120);
    const ids = [];
    for (const d of data) ids.push((await repo.putBlob(BlobKind.Chunk, d)).id);
    await repo.flush();
    const mem = storage as MemoryStorage;
    expect(mem.store.resources.state.size).toBe(3);
    const fresh = track(await openTestRepository(storage, cache('b')));
    expect(fresh.indexStats()).toMatchObject({ states: 3, blobs: 120 });
    for (const [i, id] of ids.entries()) expect(await fresh.getBlob(BlobKind.Chunk, id)).toEqual(data[i]);
  });

  it('writes checkpoint states during a long session, before flush', async () => {
    const { repo, storage } = await createTestRepository(cache('a'), {
      stateMaxBlobs: 20,
      packfileSize: 4096,
    });
    track(repo);
    for (const d of blobs(100)) await repo.putBlob(BlobKind.Chunk, d);
    // Give background uploads and the checkpoint a moment.
    for (let i = 0; i < 50 && (storage as MemoryStorage).store.resources.state.size === 0; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    expect((storage as MemoryStorage).store.resources.state.size).toBeGreaterThan(0);
    await repo.flush();
    expect(repo.indexStats()).toMatchObject({ blobs: 100, pendingBlobs: 0 });
  });

  it('refuses to rebuild a cache in the middle of a session with unflushed blobs', async () => {
    const { repo, storage } = await createTestRepository(cache('a'));
    track(repo);
    await repo.putBlob(BlobKind.Chunk, pseudoRandom(1, 100));
    await repo.flush();
    await repo.putBlob(BlobKind.Chunk, pseudoRandom(2, 100));
    (storage as MemoryStorage).store.resources.state.clear();
    await expect(repo.refreshIndex()).rejects.toThrow(/flush first/);
  });

  it('rebuilds a cache that is corrupt', async () => {
    const { repo, storage } = await createTestRepository(cache('a'));
    const r = await repo.putBlob(BlobKind.Chunk, pseudoRandom(1, 1000));
    await repo.flush();
    const path = join(repo.cachePath, INDEX_CACHE_FILE);
    await repo.close();
    writeFileSync(path, 'this is not a sqlite database, not at all, no; '.repeat(100));
    const again = track(await openTestRepository(storage, cache('a')));
    expect(await again.getBlob(BlobKind.Chunk, r.id)).toEqual(pseudoRandom(1, 1000));
  });

  it('rebuilds the cache when the store lost a state the cache had applied', async () => {
    const { repo, storage } = await createTestRepository(cache('a'));
    const a = await repo.putBlob(BlobKind.Chunk, pseudoRandom(1, 1000));
    await repo.flush();
    const mem = storage as MemoryStorage;
    const [firstState] = mem.store.resources.state.keys();
    const b = await repo.putBlob(BlobKind.Chunk, pseudoRandom(2, 1000));
    await repo.flush();
    await repo.close();
    mem.store.resources.state.delete(firstState!);
    const again = track(await openTestRepository(storage, cache('a')));
    expect(again.hasBlob(BlobKind.Chunk, a.id)).toBe(false);
    expect(again.hasBlob(BlobKind.Chunk, b.id)).toBe(true);
  });

  it('drops the blobs of packfiles a state deletes, whatever order states are read in', async () => {
    const { repo, storage } = await createTestRepository(cache('a'), { packfileSize: 4096 });
    const data = blobs(10);
    const ids = [];
    for (const d of data) ids.push((await repo.putBlob(BlobKind.Chunk, d)).id);
    await repo.flush();
    const gone = repo.locateBlob(BlobKind.Chunk, ids[0]!)!.packfile;
    const goneIds = ids.filter((id) => toHex(repo.locateBlob(BlobKind.Chunk, id)!.packfile) === toHex(gone));
    const stateId = repo.newResourceId();
    const body = encodeState({ time: 1, packfiles: [], deletedPackfiles: [gone] });
    const sealed = await sealResource(repo.provider, repo.keyRing, 'state', stateId, body, 'zstd');
    const mem = storage as MemoryStorage;
    await mem.put('state', toHex(stateId), sealed);

    // The cache that had the packfile applies the deletion on refresh.
    expect((await repo.refreshIndex()).applied).toBe(1);
    for (const id of goneIds) expect(repo.hasBlob(BlobKind.Chunk, id)).toBe(false);
    expect(repo.hasBlob(BlobKind.Chunk, ids[9]!)).toBe(true);
    expect([...repo.indexedPackfiles()].map(toHex)).not.toContain(toHex(gone));
    await repo.close();

    // A fresh cache reading the deletion first, then the listing state, agrees.
    const states = [...mem.store.resources.state];
    mem.store.resources.state.clear();
    for (const [id, bytes] of states.reverse()) mem.store.resources.state.set(id, bytes);
    const fresh = track(await openTestRepository(storage, cache('fresh')));
    for (const id of goneIds) expect(fresh.hasBlob(BlobKind.Chunk, id)).toBe(false);
    expect(fresh.hasBlob(BlobKind.Chunk, ids[9]!)).toBe(true);
    // And the blob can be stored again.
    expect((await fresh.putBlob(BlobKind.Chunk, data[0]!)).stored).toBe(true);
  });

  it('a state the store cannot open is reported, not applied, and does not stop the store opening', async () => {
    const { repo, storage } = await createTestRepository(cache('a'));
    const d = pseudoRandom(1, 1000);
    const { id: blob } = await repo.putBlob(BlobKind.Chunk, d);
    await repo.flush();
    await repo.close();
    const mem = storage as MemoryStorage;
    const [id, bytes] = [...mem.store.resources.state][0]!;
    bytes[40]! ^= 1;
    const fresh = track(await openTestRepository(storage, cache('b')));
    expect(fresh.unreadableStates.count).toBe(1);
    expect(fresh.unreadableStates.states[0]!.id).toBe(id);
    expect(fresh.unreadableStates.states[0]!.reason).toMatch(/authentication/);
    expect(fresh.hasBlob(BlobKind.Chunk, blob)).toBe(false); // what it lists is not in the index
    // Not marked applied: tried again by the next refresh (and applied once readable).
    bytes[40]! ^= 1;
    expect((await fresh.refreshIndex()).applied).toBe(1);
    expect(fresh.unreadableStates.count).toBe(0);
    expect(fresh.hasBlob(BlobKind.Chunk, blob)).toBe(true);
  });
});

describe('getBlobs', () => {
  it('coalesces ranged reads per packfile and reports each blob with its position', async () => {
    const inner = new MemoryStorage();
    const storage = new RecordingStorage(inner);
    const { repo } = await createTestRepository(cache('a'), { packfileSize: 64 * 1024 }, storage);
    track(repo);
    const data = blobs(40);
    const ids = [];
    for (const d of data) ids.push((await repo.putBlob(BlobKind.Chunk, d)).id);
    await repo.flush();
    const packs = new Set(ids.map((id) => toHex(repo.locateBlob(BlobKind.Chunk, id)!.packfile)));
    storage.calls.length = 0;
    const wanted = [...ids].reverse();
    wanted.push(ids[3]!); // a duplicate
    wanted.push(pseudoRandom(77, 32)); // unknown
    const seen = new Map<number, Uint8Array>();
    const errors: number[] = [];
    for await (const r of repo.getBlobs(BlobKind.Chunk, wanted)) {
      if (r.ok) seen.set(r.index, r.data);
      else errors.push(r.index);
    }
    expect(errors).toEqual([wanted.length - 1]);
    expect(seen.size).toBe(wanted.length - 1);
    for (const [index, bytes] of seen) expect(toHex(bytes)).toBe(toHex(data[ids.indexOf(wanted[index]!)]!));
    const gets = storage.calls.filter((c) => c.startsWith('get packfile/'));
    expect(gets.length).toBe(packs.size);

    // With a tiny maxSpan, one read per blob.
    storage.calls.length = 0;
    for await (const _ of repo.getBlobs(BlobKind.Chunk, ids, { maxSpan: 1, maxGap: 0 })) {
      // drain
    }
    expect(storage.calls.filter((c) => c.startsWith('get packfile/')).length).toBe(ids.length);
  });
});

describe('packfiles for check', () => {
  it('lists packfiles, reads their own index, and matches the repository index', async () => {
    const { repo } = await createTestRepository(cache('a'), { packfileSize: 8192 });
    track(repo);
    for (const d of blobs(30)) await repo.putBlob(BlobKind.Chunk, d);
    await repo.flush();
    const listed = [];
    for await (const p of repo.listPackfiles()) listed.push(p);
    expect(new Set(listed.map((p) => toHex(p.id)))).toEqual(new Set([...repo.indexedPackfiles()].map(toHex)));
    let total = 0;
    for (const p of listed) {
      const own = await repo.readPackIndex(p.id, p.size);
      const indexed = repo.indexedBlobs(p.id);
      expect(own.map((e) => [toHex(e.id), e.offset, e.length])).toEqual(
        indexed.map((e) => [toHex(e.id), e.offset, e.length]),
      );
      // Without the size: the state recorded it.
      expect(await repo.readPackIndex(p.id)).toHaveLength(own.length);
      total += own.length;
    }
    expect(total).toBe(30);
  });
});

describe('sealed resources', () => {
  it('puts, gets, lists and deletes; a resource moved to another id fails as corrupt', async () => {
    const { repo, storage } = await createTestRepository(cache('a'));
    track(repo);
    const a = repo.newResourceId();
    const b = repo.newResourceId();
    const body = new TextEncoder().encode('header');
    await repo.putResource('snapshot', a, body);
    expect(await repo.getResource('snapshot', a)).toEqual(body);
    const ids = [];
    for await (const id of repo.listResources('snapshot')) ids.push(toHex(id));
    expect(ids).toEqual([toHex(a)]);
    const mem = storage as MemoryStorage;
    mem.store.resources.snapshot.set(toHex(b), mem.store.resources.snapshot.get(toHex(a))!);
    await expect(repo.getResource('snapshot', b)).rejects.toThrow(CorruptResourceError);
    await repo.deleteResource('snapshot', a);
    await expect(repo.getResource('snapshot', a)).rejects.toMatchObject({ code: 'not_found' });
  });
});

describe('uploads', () => {
  it('applies backpressure: putBlob waits while the upload pool is full', async () => {
    const storage = new RecordingStorage(new MemoryStorage());
    const { repo } = await createTestRepository(
      cache('a'),
      { packfileSize: 4096, uploadConcurrency: 2 },
      storage,
    );
    track(repo);
    storage.holdPuts = 'packfile';
    let resolved = 0;
    const puts = blobs(40).map((d) => repo.putBlob(BlobKind.Chunk, d).then(() => resolved++));
    await new Promise((r) => setTimeout(r, 50));
    expect(storage.heldPuts).toBeLessThanOrEqual(3);
    expect(resolved).toBeLessThan(40);
    storage.release();
    await Promise.all(puts);
    await repo.flush();
    expect(storage.maxActivePuts).toBeLessThanOrEqual(3);
    expect(repo.indexStats().blobs).toBe(40);
  });

  it('a failed upload breaks the session: later putBlob and flush fail, nothing is indexed', async () => {
    const inner = new MemoryStorage();
    const { repo: setup } = await createTestRepository(cache('a'), { packfileSize: 4096 }, inner);
    await setup.close();
    const failing = new RecordingStorage(inner);
    const repo = track(await openTestRepository(failing, cache('a')));
    failing.put = async () => {
      throw new Error('disk full');
    };
    for (const d of blobs(10)) await repo.putBlob(BlobKind.Chunk, d).catch(() => undefined);
    await expect(repo.flush()).rejects.toThrow(/disk full/);
    await expect(repo.putBlob(BlobKind.Chunk, pseudoRandom(5, 10))).rejects.toThrow(/disk full/);
    expect(inner.store.resources.state.size).toBe(0);
  });
});
