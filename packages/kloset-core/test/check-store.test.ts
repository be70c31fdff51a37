/**
 * `checkStore`: check on an index built from the store alone, whatever this client's cache holds.
 * Each kind of damage is found with a warm cache, named with its files, and never blamed on the
 * store when it is the cache that is wrong.
 */
import { DatabaseSync } from 'node:sqlite';
import { MemorySource, MemoryStorage } from '@kloset/connector-contract/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backup } from '../src/backup/backup.ts';
import { checkStore } from '../src/check/check-store.ts';
import { toHex } from '../src/encoding/bytes.ts';
import { BlobKind } from '../src/repository/blob-store.ts';
import { INDEX_CACHE_FILE } from '../src/repository/index-cache.ts';
import type { Repository } from '../src/repository/repository.ts';
import type { SnapshotHeader } from '../src/snapshot/header.ts';
import { readFile } from '../src/snapshot/read-file.ts';
import { TreeReader } from '../src/snapshot/tree-reader.ts';
import { createTestRepository, openTestRepository, pseudoRandom, tempDir } from './repository-helpers.ts';

const SMALL = {
  // Every chunk but a file's last is at least 1024 bytes: it fills a packfile alone. A file's last
  // chunk can be shorter and share its packfile with another short blob: the tests damage the
  // packfile of a first chunk.
  packfileSize: 1024,
  chunking: { min: 1024, avg: 2048, max: 4096, normalization: 2 },
} as const;
const entries = [
  { path: '/a', type: 'file' as const, bytes: pseudoRandom(1, 9_000) },
  { path: '/b', type: 'file' as const, bytes: pseudoRandom(2, 9_000) },
];

let dir: { path: string; cleanup: () => void };
let n = 0;
const open: Repository[] = [];
beforeEach(() => {
  dir = tempDir('kloset-check-store-');
});
afterEach(async () => {
  for (const r of open.splice(0)) await r.close();
  dir.cleanup();
});
const cache = () => `${dir.path}/cache-${++n}`;

async function store(): Promise<{ repo: Repository; storage: MemoryStorage; header: SnapshotHeader }> {
  const storage = new MemoryStorage();
  const { repo } = await createTestRepository(cache(), SMALL, storage);
  open.push(repo);
  const header = (await backup(repo, new MemorySource(entries))).header;
  return { repo, storage, header };
}

/** The packfile of the first chunk of `path`, which holds that chunk alone. */
async function packOf(repo: Repository, header: SnapshotHeader, path: string): Promise<string> {
  const e = await new TreeReader(repo, header.root).get(path, 'file');
  const loc = repo.locateBlob(BlobKind.Chunk, e!.chunks[0]!.id);
  expect(repo.indexedBlobs(loc!.packfile)).toHaveLength(1);
  return toHex(loc!.packfile);
}

async function flip(
  storage: MemoryStorage,
  kind: 'state' | 'packfile',
  id: string,
  at: (size: number) => number,
) {
  const bytes = Buffer.from(await storage.get(kind, id));
  bytes[at(bytes.length)]! ^= 0x40;
  await storage.put(kind, id, bytes);
}

async function ids(storage: MemoryStorage, kind: 'state' | 'packfile'): Promise<string[]> {
  const out: string[] = [];
  for await (const r of storage.list(kind)) out.push(r.id);
  return out;
}

const kinds = (r: { reports: readonly { kind: string }[] }) =>
  [...new Set(r.reports.map((p) => p.kind))].sort();

describe('checkStore', () => {
  it('passes on a healthy store, fast and full, and reads every packfile index in full', async () => {
    const { repo, storage } = await store();
    const full = await checkStore(repo);
    expect(full).toMatchObject({ ok: true, problems: 0, unindexedPackfiles: 0, repairAdvised: false });
    expect(full.cacheRebuilt).toBeUndefined();
    expect(full.packIndexesRead).toBe((await ids(storage, 'packfile')).length);
    expect((await checkStore(repo, { fast: true })).ok).toBe(true);
  });

  it('finds a flipped byte in a state with a warm cache; a new client still opens the store', async () => {
    const { repo, storage } = await store();
    const [state] = await ids(storage, 'state');
    await flip(storage, 'state', state!, (size) => size >> 1);
    for (const fast of [true, false]) {
      const r = await checkStore(repo, { fast });
      expect(r.ok).toBe(false);
      expect(r.reports[0]).toMatchObject({ kind: 'unreadable-state' });
      expect(r.reports[0]!.message).toContain(`state ${state}`);
      expect(r.reports[0]!.message).toContain("run 'kloset repair'");
      // the blobs it listed (here the snapshot's tree too) are out of the index: the snapshot is named
      expect(r.reports.some((p) => p.kind === 'unreadable-tree' && p.snapshot !== undefined)).toBe(true);
      expect(r.cacheRebuilt).toBeUndefined();
    }
    const fresh = await openTestRepository(storage, cache());
    open.push(fresh);
    expect(fresh.unreadableStates.count).toBe(1);
    expect(fresh.unreadableStates.states[0]!.id).toBe(state);
  });

  it('names the files of a deleted state, and counts the packfiles it indexed as unindexed', async () => {
    const { repo, storage } = await store();
    const [state] = await ids(storage, 'state');
    await storage.delete('state', state!);
    const r = await checkStore(repo, { fast: true });
    expect(r.ok).toBe(false);
    expect(r.unindexedPackfiles).toBe((await ids(storage, 'packfile')).length);
    expect(
      r.reports.some(
        (p) => p.kind === 'unreadable-tree' || p.kind === 'unreadable-snapshot' || p.path !== undefined,
      ),
    ).toBe(true);
  });

  it('finds a flipped byte in a packfile footer or index (full), naming the files', async () => {
    for (const where of ['footer', 'index'] as const) {
      const { repo, storage, header } = await store();
      const pack = await packOf(repo, header, '/a');
      // footer: the last 33 bytes; index: just before it
      await flip(storage, 'packfile', pack, (size) => (where === 'footer' ? size - 5 : size - 40));
      const r = await checkStore(repo);
      expect(r.ok, where).toBe(false);
      expect(kinds(r)).toContain('corrupt-packfile');
      expect(r.reports.find((p) => p.path === '/a')?.message).toContain(pack);
    }
  });

  it('finds a truncated packfile, fast and full, without failing on reads past the end', async () => {
    const { repo, storage, header } = await store();
    const pack = await packOf(repo, header, '/a');
    const bytes = await storage.get('packfile', pack);
    await storage.put('packfile', pack, bytes.subarray(0, bytes.length >> 1));
    for (const fast of [true, false]) {
      const r = await checkStore(repo, { fast });
      expect(r.ok).toBe(false);
      expect(kinds(r)).toContain('packfile-size');
      const a = r.reports.find((p) => p.path === '/a');
      expect(a?.message).toMatch(/truncated/);
      expect(a?.snapshot).toBe(toHex(header.id));
    }
  });

  it('finds a corrupt chunk, and the next backup of this client stores it again', async () => {
    const { repo, storage, header } = await store();
    const pack = await packOf(repo, header, '/a');
    await flip(storage, 'packfile', pack, () => 10); // inside the first blob
    const r = await checkStore(repo);
    expect(kinds(r)).toEqual(['corrupt-blob']);
    expect(r.reports[0]).toMatchObject({ path: '/a', packfile: pack });
    const source = new MemorySource(entries);
    const next = await backup(repo, source);
    expect(source.opened.get('/a')).toBe(1);
    // This client took the corrupt copy out of its index: it reads the copy stored again.
    const parts: Uint8Array[] = [];
    for await (const part of readFile(repo, next.header, '/a')) parts.push(part);
    expect(Buffer.concat(parts).equals(Buffer.from(entries[0]!.bytes))).toBe(true);
  });

  it('rebuilds a wrong cache instead of blaming the store', async () => {
    const { repo } = await store();
    // A row of the cache altered behind its back: a blob at another offset.
    const db = new DatabaseSync(`${repo.cachePath}/${INDEX_CACHE_FILE}`);
    // (in whichever level of the index holds the row: see index-schema.ts)
    for (const t of ['blobs', 'blobs_new']) {
      db.exec(`UPDATE ${t} SET offset = offset + 1 WHERE id = (SELECT id FROM ${t} LIMIT 1)`);
    }
    db.close();
    const r = await checkStore(repo);
    expect(r.ok).toBe(true);
    expect(r.cacheRebuilt).toMatch(/packfile [0-9a-f]{64}/);
    expect((await checkStore(repo)).cacheRebuilt).toBeUndefined();
  });
});
