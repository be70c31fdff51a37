/** sync between two real Repositories (different keys) over MemoryStorage. */
import { type MemoryEntry, MemorySource, MemoryStorage } from '@kloset/connector-contract/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backup } from '../src/backup/backup.ts';
import { check } from '../src/check/check.ts';
import { toHex } from '../src/encoding/bytes.ts';
import { BlobKind } from '../src/repository/blob-store.ts';
import type { Repository } from '../src/repository/repository.ts';
import type { SnapshotHeader } from '../src/snapshot/header.ts';
import { readFile } from '../src/snapshot/read-file.ts';
import { listSnapshots } from '../src/snapshot/snapshots.ts';
import { TreeReader } from '../src/snapshot/tree-reader.ts';
import { SyncContentError, syncSnapshots } from '../src/sync/sync.ts';
import { createTestRepository, openTestRepository, pseudoRandom, tempDir } from './repository-helpers.ts';
import { collect } from './snapshot-fixtures.ts';

const CHUNKING = { chunking: { min: 1024, avg: 4096, max: 16_384, normalization: 2 } } as const;

let dir: { path: string; cleanup: () => void };
let n = 0;
const open: Repository[] = [];
beforeEach(() => {
  dir = tempDir('kloset-sync-');
});
afterEach(async () => {
  for (const r of open.splice(0)) await r.close();
  dir.cleanup();
});
const cache = () => `${dir.path}/cache-${++n}`;

async function store(): Promise<{ repo: Repository; storage: MemoryStorage }> {
  const storage = new MemoryStorage();
  const { repo } = await createTestRepository(cache(), CHUNKING, storage);
  open.push(repo);
  return { repo, storage };
}

const tree = (version: number): MemoryEntry[] => [
  { path: '/docs', type: 'directory', mode: 0o750, mtime: { sec: 1_600_000_000, nsec: 7 } },
  { path: '/docs/big.bin', type: 'file', bytes: pseudoRandom(1, 200_000), mode: 0o600 },
  { path: '/docs/small.txt', type: 'file', bytes: Buffer.from(`version ${version}`) },
  { path: '/docs/empty', type: 'file', bytes: new Uint8Array(0) },
  { path: '/link', type: 'symlink', linkTarget: 'docs/small.txt' },
  {
    path: '/meta',
    type: 'file',
    bytes: pseudoRandom(version + 10, 30_000),
    metadata: { 'content-type': 'x/y' },
  },
  { path: '/failed', type: 'file', error: 'permission denied' },
];

async function snap(repo: Repository, version: number, tags: string[] = []): Promise<SnapshotHeader> {
  return (await backup(repo, new MemorySource(tree(version)), { tags, name: `v${version}`, parent: null }))
    .header;
}

/** The entries of a snapshot without their chunk ids (which differ between stores). */
async function shape(repo: Repository, h: SnapshotHeader) {
  return (await collect(new TreeReader(repo, h.root).entries())).map(({ chunks, ...rest }) => ({
    ...rest,
    chunkBytes: chunks.reduce((a, c) => a + c.length, 0),
  }));
}

async function content(repo: Repository, h: SnapshotHeader, path: string): Promise<Buffer> {
  return Buffer.concat(await collect(readFile(repo, h, path)));
}

describe('syncSnapshots', () => {
  it('copies every snapshot with its header and tree, re-encrypted under the destination keys', async () => {
    const src = await store();
    const dst = await store();
    const s1 = await snap(src.repo, 1, ['daily']);
    const s2 = await snap(src.repo, 2);
    const result = await syncSnapshots(src.repo, dst.repo);
    expect(result).toMatchObject({ copied: 2, present: 0 });
    const copies = await listSnapshots(dst.repo);
    expect(copies.map((h) => toHex(h.id))).toEqual([toHex(s1.id), toHex(s2.id)]);
    for (const [a, b] of [
      [s1, copies[0]!],
      [s2, copies[1]!],
    ] as const) {
      expect({ ...b, root: null, summary: null }).toEqual({ ...a, root: null, summary: null });
      expect(b.summary).toMatchObject({ files: a.summary.files, bytes: a.summary.bytes, errors: 1 });
      expect(await shape(dst.repo, b)).toEqual(await shape(src.repo, a));
      expect(
        (await content(dst.repo, b, '/docs/big.bin')).equals(Buffer.from(pseudoRandom(1, 200_000))),
      ).toBe(true);
    }
    // Another key: no chunk id of the source is in the destination.
    const srcChunks = (await new TreeReader(src.repo, s1.root).get('/docs/big.bin', 'file'))!.chunks;
    for (const c of srcChunks) expect(dst.repo.hasBlob(BlobKind.Chunk, c.id)).toBe(false);
    expect((await check(dst.repo)).ok).toBe(true);
    // The second snapshot's unchanged files came from the content map, not from the source again.
    expect(result.snapshots[1]!.mappedFiles).toBe(1); // big.bin; small.txt and meta changed
    expect(result.snapshots[1]!.readBytes).toBe(`version 2`.length + 30_000);
  });

  it('skips what the destination has: a second run writes nothing', async () => {
    const src = await store();
    const dst = await store();
    await snap(src.repo, 1);
    await syncSnapshots(src.repo, dst.repo);
    const packs = dst.storage.store.resources.packfile.size;
    const states = dst.storage.store.resources.state.size;
    const again = await syncSnapshots(src.repo, dst.repo);
    expect(again).toMatchObject({ copied: 0, present: 1, storedBytes: 0 });
    expect(dst.storage.store.resources.packfile.size).toBe(packs);
    expect(dst.storage.store.resources.state.size).toBe(states);
  });

  it('deduplicates against what the destination holds, and resumes after an interruption', async () => {
    const src = await store();
    const dst = await store();
    const s1 = await snap(src.repo, 1);
    const s2 = await snap(src.repo, 2);
    // The destination already backed up the same data itself: sync stores almost nothing new.
    await snap(dst.repo, 1);
    const abort = new AbortController();
    await expect(
      syncSnapshots(src.repo, dst.repo, {
        snapshots: [s1, s2],
        onSnapshot: () => abort.abort(new Error('stop after the first')),
        signal: abort.signal,
      }),
    ).rejects.toThrow('stop after the first');
    const first = await listSnapshots(dst.repo);
    expect(first.map((h) => toHex(h.id))).toContain(toHex(s1.id));
    expect(first.find((h) => toHex(h.id) === toHex(s1.id))!.summary.storedBytes).toBeLessThan(5_000);
    const resumed = await syncSnapshots(src.repo, dst.repo);
    expect(resumed.snapshots.map((s) => s.status)).toEqual(['present', 'copied']);
    expect((await check(dst.repo)).ok).toBe(true);
  });

  it('keeps the content map in a directory across runs and sessions', async () => {
    const src = await store();
    const dst = await store();
    const s1 = await snap(src.repo, 1);
    const mapDir = `${dir.path}/map`;
    await syncSnapshots(src.repo, dst.repo, { snapshots: [s1], mapDir });
    const s2 = await snap(src.repo, 2);
    const dst2 = await openTestRepository(dst.storage, cache());
    open.push(dst2);
    const r = await syncSnapshots(src.repo, dst2, { snapshots: [s2], mapDir });
    expect(r.snapshots[0]!.mappedFiles).toBe(1);
  });

  it('a corrupt chunk in the source fails that snapshot, naming the file; nothing half-written is listed', async () => {
    const src = await store();
    const dst = await store();
    const s1 = await snap(src.repo, 1);
    const big = (await new TreeReader(src.repo, s1.root).get('/docs/big.bin', 'file'))!;
    const loc = src.repo.locateBlob(BlobKind.Chunk, big.chunks[1]!.id)!;
    const packHex = toHex(loc.packfile);
    const bytes = src.storage.store.resources.packfile.get(packHex)!;
    bytes[loc.offset + 5]! ^= 0xff;
    const err = await syncSnapshots(src.repo, dst.repo).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SyncContentError);
    expect((err as Error).message).toMatch(/^cannot copy \/docs\/big\.bin of snapshot \w{8}: corrupt blob/);
    expect(await listSnapshots(dst.repo)).toEqual([]);
    expect(dst.storage.store.resources.lock.size).toBe(0);
  });
});
