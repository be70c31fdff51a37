/**
 * FORMAT.md 8.3 on a damaged store: a backup never builds on blobs that are gone. After a lost
 * packfile or a lost state, the next backup reads the affected files again and stores their data
 * anew (so its snapshot is whole), whether the client's index cache is warm or new.
 */
import { MemorySource, MemoryStorage } from '@kloset/connector-contract/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backup } from '../src/backup/backup.ts';
import { check } from '../src/check/check.ts';
import { checkStore } from '../src/check/check-store.ts';
import { toHex } from '../src/encoding/bytes.ts';
import { BlobKind } from '../src/repository/blob-store.ts';
import type { Repository } from '../src/repository/repository.ts';
import type { SnapshotHeader } from '../src/snapshot/header.ts';
import { readFile } from '../src/snapshot/read-file.ts';
import { TreeReader } from '../src/snapshot/tree-reader.ts';
import { createTestRepository, openTestRepository, pseudoRandom, tempDir } from './repository-helpers.ts';

const SMALL = {
  // Every chunk but a file's last is at least 1024 bytes: it fills a packfile alone. A file's last
  // chunk can be shorter and share its packfile with another short blob: the tests lose the
  // packfile of /a's first chunk.
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
  dir = tempDir('kloset-damaged-');
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

async function chunkPackfiles(repo: Repository, header: SnapshotHeader, path: string): Promise<string[]> {
  const e = await new TreeReader(repo, header.root).get(path, 'file');
  if (e === undefined) throw new Error(`no ${path}`);
  return e.chunks.map((c) => {
    const loc = repo.locateBlob(BlobKind.Chunk, c.id);
    if (loc === undefined) throw new Error(`chunk of ${path} not indexed`);
    return toHex(loc.packfile);
  });
}

async function contentOf(repo: Repository, header: SnapshotHeader, path: string): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const part of readFile(repo, header, path)) parts.push(part);
  return Buffer.concat(parts);
}

describe('a backup on a damaged store', () => {
  for (const client of ['the same client', 'a new client'] as const) {
    it(`stores again the files of a lost packfile (${client})`, async () => {
      const storage = new MemoryStorage();
      const { repo: first } = await createTestRepository(cache(), SMALL, storage);
      track(first);
      const one = (await backup(first, new MemorySource(entries))).header;
      const lost = (await chunkPackfiles(first, one, '/a'))[0]!;
      expect(first.indexedBlobs(Buffer.from(lost, 'hex'))).toHaveLength(1); // none of /b's
      await storage.delete('packfile', lost);

      const repo = client === 'the same client' ? first : track(await openTestRepository(storage, cache()));
      const source = new MemorySource(entries);
      const two = await backup(repo, source);
      // Warm or new, the client learns of the loss from one listing of the packfiles.
      expect(two.missingPackfiles).toEqual([lost]);
      expect(source.opened.get('/a')).toBe(1); // read again
      expect(source.opened.get('/b')).toBeUndefined(); // still reused
      expect(two.header.summary.reusedEntries).toBe(1);
      expect(await chunkPackfiles(repo, two.header, '/a')).not.toContain(lost);
      expect((await contentOf(repo, two.header, '/a')).equals(Buffer.from(entries[0]!.bytes))).toBe(true);
      const after = await checkStore(repo, { snapshots: [toHex(two.header.id)] });
      // Only the store-level problem is left (the states still list the lost packfile, until repair).
      expect(after.reports.map((p) => p.kind)).toEqual(['missing-packfile']);
      expect(after.reports[0]!.path).toBeUndefined();
    });
  }

  it('after check found a lost packfile, the next backup of the same client stores its files again', async () => {
    const storage = new MemoryStorage();
    const { repo } = await createTestRepository(cache(), SMALL, storage);
    track(repo);
    const one = (await backup(repo, new MemorySource(entries))).header;
    const lost = (await chunkPackfiles(repo, one, '/a'))[0]!;
    await storage.delete('packfile', lost);
    const found = await checkStore(repo, { fast: true });
    expect(found.reports.find((p) => p.path === '/a')?.message).toContain(
      `packfile ${lost} is not in storage`,
    );
    const source = new MemorySource(entries);
    const two = await backup(repo, source);
    expect(two.missingPackfiles).toEqual([]); // check already took it out of this client's index
    expect(source.opened.get('/a')).toBe(1);
    expect((await contentOf(repo, two.header, '/a')).equals(Buffer.from(entries[0]!.bytes))).toBe(true);
  });

  it('stores again the files of a lost state, with a warm cache and with a new one', async () => {
    for (const warm of [true, false]) {
      const storage = new MemoryStorage();
      const { repo: first } = await createTestRepository(cache(), SMALL, storage);
      track(first);
      await backup(first, new MemorySource([entries[1]!])); // its own state
      const before = new Set<string>();
      for await (const s of storage.list('state')) before.add(s.id);
      await backup(first, new MemorySource(entries));
      let lostState: string | undefined;
      for await (const s of storage.list('state')) if (!before.has(s.id)) lostState = s.id;
      expect(lostState).toBeDefined();
      await storage.delete('state', lostState!);

      const repo = warm ? first : track(await openTestRepository(storage, cache()));
      if (warm) await repo.refreshIndex(); // learns the state is gone, rebuilds its cache
      const source = new MemorySource(entries);
      const two = await backup(repo, source);
      // The lost state indexed /a's chunks and the parent's tree nodes: the parent cannot be
      // read, so both files are read again (/b's chunks, indexed by the other state, are not
      // stored twice).
      expect(two.parentUnusable, `warm=${warm}`).toMatch(/not in the index|missing/);
      expect(source.opened.get('/a')).toBe(1);
      expect(source.opened.get('/b')).toBe(1);
      expect(two.header.summary.newBlobs).toBeGreaterThan(0);
      expect((await check(repo, { snapshots: [toHex(two.header.id)] })).problems).toBe(0);
      expect((await contentOf(repo, two.header, '/a')).equals(Buffer.from(entries[0]!.bytes))).toBe(true);
    }
  });

  it('skips the per-chunk lookup only for a parent written through this cache', async () => {
    const storage = new MemoryStorage();
    const { repo } = await createTestRepository(cache(), SMALL, storage);
    track(repo);
    const one = (await backup(repo, new MemorySource(entries))).header;
    expect(repo.snapshotBlobsIndexed(one.id)).toBe(true);
    const other = track(await openTestRepository(storage, cache()));
    expect(other.snapshotBlobsIndexed(one.id)).toBe(false);
    const two = (await backup(other, new MemorySource(entries))).header;
    expect(other.snapshotBlobsIndexed(two.id)).toBe(true);
    // A blob leaving the index forgets every such snapshot.
    const lost = (await chunkPackfiles(repo, one, '/a'))[0]!;
    await storage.delete('packfile', lost);
    expect(await repo.dropMissingPackfiles()).toEqual([lost]);
    expect(repo.snapshotBlobsIndexed(one.id)).toBe(false);
  });
});
