import { randomBytes } from 'node:crypto';
import { deterministicBytes, type MemoryEntry, MemorySource } from '@kloset/connector-contract/testing';
import { describe, expect, it } from 'vitest';
import { backup } from '../src/backup/backup.ts';
import type { BackupProgress } from '../src/backup/backup-options.ts';
import { BlobKind } from '../src/repository/blob-store.ts';
import { acquireLock } from '../src/repository/locks.ts';
import { listSnapshots } from '../src/snapshot/snapshots.ts';
import { TreeReader } from '../src/snapshot/tree-reader.ts';
import { collect, fixedChunker, MemoryRepository, OpenHookSource, sleep } from './snapshot-fixtures.ts';

async function contentOf(repo: MemoryRepository, root: Uint8Array, path: string): Promise<Buffer> {
  const e = await new TreeReader(repo, root).get(path, 'file');
  if (!e) throw new Error(`no ${path}`);
  const parts = await Promise.all(e.chunks.map((c) => repo.getBlob(BlobKind.Chunk, c.id)));
  return Buffer.concat(parts);
}

const tree: MemoryEntry[] = [
  { path: '/docs', type: 'directory', mode: 0o700 },
  { path: '/docs/a.txt', type: 'file', bytes: Buffer.from('hello world'), mode: 0o600 },
  { path: '/docs/empty', type: 'file', bytes: new Uint8Array(0) },
  { path: '/docs/big.bin', type: 'file', bytes: deterministicBytes(1, 300_000) },
  { path: '/link', type: 'symlink', linkTarget: 'docs/a.txt' },
  { path: '/ünï/😀.txt', type: 'file', bytes: Buffer.from('astral'), metadata: { 'x.k': 'v' } },
];

describe('backup', () => {
  it('stores every entry with its attributes and content, and writes a header', async () => {
    const repo = new MemoryRepository();
    const source = new MemorySource(tree);
    const progress: BackupProgress[] = [];
    const res = await backup(repo, source, {
      name: 'test',
      tags: ['t1'],
      onProgress: (p) => progress.push(p),
    });
    expect(res.header.summary).toMatchObject({
      files: 4,
      directories: 3,
      symlinks: 1,
      errors: 0,
      bytes: 300_017,
    });
    expect(res.header.name).toBe('test');
    expect(res.header.parent).toBeUndefined();
    expect(res.filesRead).toBe(4);
    const all = await collect(new TreeReader(repo, res.header.root).entries());
    expect(all.map((e) => e.path)).toEqual([
      '/',
      '/docs',
      '/link',
      '/ünï',
      '/docs/a.txt',
      '/docs/big.bin',
      '/docs/empty',
      '/ünï/😀.txt',
    ]);
    const link = all.find((e) => e.path === '/link');
    expect(link).toMatchObject({ type: 'symlink', linkTarget: 'docs/a.txt', chunks: [] });
    expect(all.find((e) => e.path === '/docs')).toMatchObject({ mode: 0o700 });
    expect(all.find((e) => e.path === '/ünï/😀.txt')).toMatchObject({ metadata: { 'x.k': 'v' }, size: 6 });
    expect(
      (await contentOf(repo, res.header.root, '/docs/big.bin')).equals(deterministicBytes(1, 300_000)),
    ).toBe(true);
    expect(
      (await new TreeReader(repo, res.header.root).get('/docs/big.bin', 'file'))!.chunks.length,
    ).toBeGreaterThan(5);
    expect((await contentOf(repo, res.header.root, '/docs/a.txt')).toString()).toBe('hello world');
    const snaps = await listSnapshots(repo);
    expect(snaps.map((s) => s.id)).toEqual([res.header.id]);
    expect(repo.flushes).toBe(1);
    expect(progress.at(-1)).toMatchObject({ done: true, files: 4, bytes: 300_017 });
    // the lock is released
    expect([...repo.resources.keys()].filter((k) => k.startsWith('lock:'))).toEqual([]);
  });

  it('reuses a parent entry without a lookup per chunk only when the index vouches for the parent', async () => {
    for (const noneDeleted of [true, false]) {
      const repo = new MemoryRepository();
      await backup(repo, new MemorySource(tree));
      let lookups = 0;
      const hasBlob = repo.hasBlob.bind(repo);
      repo.hasBlob = (kind, id) => {
        lookups++;
        return hasBlob(kind, id);
      };
      repo.snapshotBlobsIndexed = () => noneDeleted;
      const source = new MemorySource(tree);
      const second = await backup(repo, source);
      expect(second.header.summary.reusedEntries).toBe(4);
      expect([...source.opened.values()]).toEqual([]);
      if (noneDeleted) expect(lookups).toBe(0);
      else expect(lookups).toBeGreaterThan(5); // every chunk of the 300 kB file, and the others'
    }
  });

  it('reuses unchanged files on the next backup: nothing opened, nothing stored', async () => {
    const repo = new MemoryRepository();
    const first = await backup(repo, new MemorySource(tree));
    const source = new MemorySource(tree);
    const second = await backup(repo, source);
    expect([...source.opened.values()]).toEqual([]);
    expect(second.header.parent).toEqual(first.header.id);
    expect(second.header.summary).toMatchObject({
      reusedEntries: 4,
      newBlobs: 0,
      storedBytes: 0,
      bytes: 300_017,
    });
    expect(second.header.root).toEqual(first.header.root);
    // a changed mtime or token means reading again (but dedup stores no new chunk)
    const touched = tree.map((e) => (e.path === '/docs/big.bin' ? { ...e, mtime: { sec: 5, nsec: 1 } } : e));
    const source3 = new MemorySource(touched);
    const third = await backup(repo, source3);
    expect([...source3.opened.keys()]).toEqual(['/docs/big.bin']);
    expect(third.header.summary.reusedEntries).toBe(3);
    const chunkBlobs = repo.count(BlobKind.Chunk);
    expect(third.header.summary.newBlobs).toBeLessThanOrEqual(2); // tree nodes only
    expect(repo.count(BlobKind.Chunk)).toBe(chunkBlobs);
    // parent: null reads everything
    const source4 = new MemorySource(tree);
    await backup(repo, source4, { parent: null });
    expect(source4.opened.size).toBe(4);
  });

  it('only reuses from the same source', async () => {
    const repo = new MemoryRepository();
    await backup(repo, new MemorySource(tree, { info: { protocol: 'memory', origin: 'h', root: '/one' } }));
    const other = new MemorySource(tree, { info: { protocol: 'memory', origin: 'h', root: '/two' } });
    const res = await backup(repo, other);
    expect(other.opened.size).toBe(4);
    expect(res.header.parent).toBeUndefined();
    expect(res.header.name).toBe('/two');
  });

  it('stores no new chunk for a copy of a file under a new name', async () => {
    const repo = new MemoryRepository();
    const data = randomBytes(200_000);
    await backup(repo, new MemorySource([{ path: '/a', type: 'file', bytes: data }]));
    const chunks = repo.count(BlobKind.Chunk);
    const res = await backup(
      repo,
      new MemorySource([
        { path: '/a', type: 'file', bytes: data },
        { path: '/copy/of/a', type: 'file', bytes: data },
      ]),
    );
    expect(repo.count(BlobKind.Chunk)).toBe(chunks);
    const r = new TreeReader(repo, res.header.root);
    expect((await r.get('/copy/of/a', 'file'))!.chunks).toEqual((await r.get('/a', 'file'))!.chunks);
  });

  it('stores about one new chunk for a 16-byte edit in the middle of a big file', async () => {
    const repo = new MemoryRepository(); // FastCDC, 8 KiB average
    const data = randomBytes(4 * 1024 * 1024);
    await backup(repo, new MemorySource([{ path: '/big', type: 'file', bytes: data }]));
    const before = repo.count(BlobKind.Chunk);
    expect(before).toBeGreaterThan(200);
    const edited = Buffer.from(data);
    randomBytes(16).copy(edited, 2 * 1024 * 1024);
    const res = await backup(
      repo,
      new MemorySource([{ path: '/big', type: 'file', bytes: edited, changeToken: 'edited' }]),
    );
    const added = repo.count(BlobKind.Chunk) - before;
    expect(added).toBeGreaterThanOrEqual(1);
    expect(added).toBeLessThanOrEqual(2);
    expect((await contentOf(repo, res.header.root, '/big')).equals(edited)).toBe(true);
  });

  it('records per-entry errors and goes on', async () => {
    const repo = new MemoryRepository();
    const source = new MemorySource([
      { path: '/ok', type: 'file', bytes: Buffer.from('fine') },
      { path: '/denied', type: 'file', error: 'EACCES: permission denied' },
      { path: '/vanishing', type: 'file', bytes: randomBytes(100_000) },
    ]);
    // a file whose content fails midway
    const scan = source.scan.bind(source);
    source.scan = async function* (signal?: AbortSignal) {
      for await (const r of scan(signal)) {
        if (r.path !== '/vanishing') yield r;
        else
          yield {
            ...r,
            open: async () =>
              (async function* () {
                yield new Uint8Array(50_000);
                throw new Error('file changed while read: /vanishing');
              })(),
          };
      }
    };
    const res = await backup(repo, source);
    expect(res.header.summary.errors).toBe(2);
    expect(res.errors).toEqual(
      expect.arrayContaining([
        { path: '/denied', error: 'EACCES: permission denied' },
        { path: '/vanishing', error: 'file changed while read: /vanishing' },
      ]),
    );
    const r = new TreeReader(repo, res.header.root);
    expect(await r.get('/vanishing', 'file')).toMatchObject({
      error: 'file changed while read: /vanishing',
      chunks: [],
    });
    expect(await r.get('/denied', 'file')).toMatchObject({ error: 'EACCES: permission denied' });
    expect((await contentOf(repo, res.header.root, '/ok')).toString()).toBe('fine');
  });

  it('drops an entry the source yields twice, and counts it as an error', async () => {
    const repo = new MemoryRepository();
    const source = new MemorySource([{ path: '/x', type: 'file', bytes: Buffer.from('xx') }]);
    const scan = source.scan.bind(source);
    source.scan = async function* (signal?: AbortSignal) {
      for await (const r of scan(signal)) {
        yield r;
        if (r.path === '/x') yield r;
      }
    };
    const res = await backup(repo, source);
    expect(res.header.summary).toMatchObject({ files: 1, directories: 1, errors: 1, bytes: 2 });
    expect(res.errors).toEqual([
      { path: '/x', error: 'the source yielded this entry twice: second one dropped' },
    ]);
    expect((await collect(new TreeReader(repo, res.header.root).entries())).map((e) => e.path)).toEqual([
      '/',
      '/x',
    ]);
  });

  it('fails without committing when the repository fails, and releases its lock', async () => {
    const repo = new MemoryRepository();
    const put = repo.putBlob.bind(repo);
    let n = 0;
    repo.putBlob = async (kind, data) => {
      if (kind === BlobKind.Chunk && ++n === 5) throw new Error('storage unavailable');
      return put(kind, data);
    };
    const files = Array.from({ length: 20 }, (_, i) => ({
      path: `/f${i}`,
      type: 'file' as const,
      bytes: randomBytes(3000),
    }));
    await expect(backup(repo, new MemorySource(files), { chunker: fixedChunker(1000) })).rejects.toThrow(
      /backup of memory:\/ failed: cannot store content of \/f\d+: storage unavailable/,
    );
    expect(await listSnapshots(repo)).toEqual([]);
    expect([...repo.resources.keys()].filter((k) => k.startsWith('lock:'))).toEqual([]);
  });

  it('is refused while an exclusive lock is held, and can be aborted', async () => {
    const repo = new MemoryRepository();
    const lock = await acquireLock(repo, { exclusive: true });
    await expect(backup(repo, new MemorySource(tree))).rejects.toThrow(/exclusive lock/);
    await lock.release();
    const ac = new AbortController();
    ac.abort(new Error('interrupted'));
    await expect(backup(repo, new MemorySource(tree), { signal: ac.signal })).rejects.toThrow('interrupted');
    expect(await listSnapshots(repo)).toEqual([]);
  });

  it('stops reading a file promptly when aborted', async () => {
    const repo = new MemoryRepository();
    const source = new MemorySource([{ path: '/endless', type: 'file', bytes: Buffer.from('x') }]);
    const scan = source.scan.bind(source);
    source.scan = async function* (signal?: AbortSignal) {
      for await (const r of scan(signal)) {
        yield r.path !== '/endless'
          ? r
          : {
              ...r,
              size: 2 ** 40,
              open: async () =>
                (async function* () {
                  for (;;) {
                    await new Promise((resolve) => setTimeout(resolve, 1));
                    yield new Uint8Array(1024);
                  }
                })(),
            };
      }
    };
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('user interrupt')), 50);
    await expect(backup(repo, source, { signal: ac.signal, chunker: fixedChunker(4096) })).rejects.toThrow(
      'user interrupt',
    );
    expect(await listSnapshots(repo)).toEqual([]);
    expect([...repo.resources.keys()].filter((k) => k.startsWith('lock:'))).toEqual([]);
  });

  it('starts none of the files still waiting for a slot once aborted', async () => {
    const repo = new MemoryRepository();
    const entries: MemoryEntry[] = Array.from({ length: 200 }, (_, i) => ({
      path: `/f${String(i).padStart(3, '0')}`,
      type: 'file' as const,
      bytes: Buffer.from(`file ${i}`),
    }));
    const ac = new AbortController();
    const source = new OpenHookSource(entries, { concurrency: 4 }, async (r, self) => {
      if (self.opened.size === 10) ac.abort(new Error('user interrupt'));
      await sleep(5);
      return r.open();
    });
    await expect(backup(repo, source, { signal: ac.signal })).rejects.toThrow('user interrupt');
    // The scan was done long before: the rest waited in the lanes and were never opened.
    expect(source.opened.size, 'files opened').toBeLessThan(20);
    expect(await listSnapshots(repo)).toEqual([]);
  });

  it('handles many entries with a tiny sort budget and small tree nodes', async () => {
    const repo = new MemoryRepository();
    const entries: MemoryEntry[] = [];
    for (let i = 0; i < 3000; i++) {
      entries.push({
        path: `/d${i % 37}/sub${i % 5}/file-${i}`,
        type: 'file',
        bytes: Buffer.from(`content ${i % 100}`),
      });
    }
    // reversed order: the engine sorts
    const source = new MemorySource(entries.reverse());
    const res = await backup(repo, source, { sortMemoryBytes: 8 * 1024, tree: { maxNodeEntries: 8 } });
    expect(res.tree.height).toBeGreaterThan(3);
    expect(res.header.summary.files).toBe(3000);
    const r = new TreeReader(repo, res.header.root);
    expect((await collect(r.entries())).length).toBe(1 + 37 + 37 * 5 + 3000);
    expect((await contentOf(repo, res.header.root, '/d29/sub0/file-1435')).toString()).toBe('content 35');
    expect(repo.count(BlobKind.Chunk)).toBe(100);
  });

  it('starts a large file while small ones listed before it still wait (two lanes)', async () => {
    const repo = new MemoryRepository();
    const large = repo.config.chunking.min + 1;
    const entries: MemoryEntry[] = [
      ...Array.from({ length: 40 }, (_, i) => ({
        path: `/a-small/f${String(i).padStart(2, '0')}`,
        type: 'file' as const,
        bytes: Buffer.from(`small ${i}`),
      })),
      ...Array.from({ length: 2 }, (_, i) => ({
        path: `/b-large/f${i}`,
        type: 'file' as const,
        bytes: deterministicBytes(10 + i, large),
      })),
    ];
    // Small objects that take a while each (a request to a server), like a bucket's.
    const source = new OpenHookSource(entries, { concurrency: 4 }, async (r) => {
      if (r.size < large) await sleep(5);
      return r.open();
    });
    const res = await backup(repo, source);
    expect(res.header.summary.files).toBe(42);
    const order = [...source.opened.keys()];
    expect(order).toHaveLength(42);
    // In listing order the large files would be opened last; their lane starts them early.
    expect(order.indexOf('/b-large/f0'), `open order: ${order.join(' ')}`).toBeLessThan(10);
    expect(order.indexOf('/b-large/f1')).toBeLessThan(10);
    expect(
      (await contentOf(repo, res.header.root, '/b-large/f1')).equals(deterministicBytes(11, large)),
    ).toBe(true);
  });
});
