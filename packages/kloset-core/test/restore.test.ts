import { randomBytes } from 'node:crypto';
import type { EntryAttributes } from '@kloset/connector-contract';
import { MemoryDestination, type MemoryEntry, MemorySource } from '@kloset/connector-contract/testing';
import { describe, expect, it, vi } from 'vitest';
import { backup } from '../src/backup/backup.ts';
import { toHex } from '../src/encoding/bytes.ts';
import { BlobKind } from '../src/repository/blob-store.ts';
import { restore } from '../src/restore/restore.ts';
import type { RestoreEntryResult, RestoreProgress } from '../src/restore/restore-options.ts';
import { TreeReader } from '../src/snapshot/tree-reader.ts';
import { collect, MemoryRepository } from './snapshot-fixtures.ts';

const big = randomBytes(1_000_000);
const tree: MemoryEntry[] = [
  { path: '/docs', type: 'directory', mode: 0o750, mtime: { sec: 1_600_000_000, nsec: 123 } },
  {
    path: '/docs/a.txt',
    type: 'file',
    bytes: Buffer.from('hello'),
    mode: 0o640,
    metadata: { 's3.tag.k': 'v' },
  },
  { path: '/docs/empty', type: 'file', bytes: new Uint8Array(0) },
  { path: '/docs/deep/er/big.bin', type: 'file', bytes: big, mode: 0o755 },
  { path: '/link', type: 'symlink', linkTarget: 'docs/a.txt' },
  { path: '/é/😀', type: 'file', bytes: Buffer.from('x') },
];

async function setup(options: { coalesced?: boolean } = {}) {
  const repo = new MemoryRepository(options);
  const res = await backup(repo, new MemorySource(tree));
  return { repo, header: res.header };
}

function attrs(a: EntryAttributes) {
  return { type: a.type, size: a.size, mode: a.mode, mtime: a.mtime, link: a.linkTarget, meta: a.metadata };
}

describe('restore', () => {
  for (const coalesced of [true, false]) {
    it(`round-trips every entry (${coalesced ? 'coalesced reads' : 'one read per chunk'})`, async () => {
      const { repo, header } = await setup({ coalesced });
      const dest = new MemoryDestination({ concurrency: 3 });
      const seen: RestoreEntryResult[] = [];
      const res = await restore(repo, toHex(header.id).slice(0, 8), dest, { onEntry: (r) => seen.push(r) });
      expect(dest.violations).toEqual([]);
      expect(dest.finished).toBe(true);
      expect(dest.maxInFlight).toBeLessThanOrEqual(3);
      expect(res.summary).toMatchObject({
        failed: 0,
        files: 4,
        directories: 5,
        symlinks: 1,
        bytes: 1_000_006,
      });
      expect(seen.length).toBe(10);
      const source = new MemorySource(tree);
      for await (const r of source.scan()) {
        const w = dest.entries.get(r.path);
        expect(w, r.path).toBeDefined();
        expect(attrs(w!.attributes)).toEqual(attrs(r));
        if (r.type === 'file') {
          const want = Buffer.concat(await collect(await r.open()));
          expect(Buffer.from(w!.bytes!).equals(want), r.path).toBe(true);
        }
      }
      if (coalesced) expect(repo.getBlobsCalls).toBeGreaterThan(0);
    });
  }

  it('leaves out the sub-trees of leaveOut, unless the restored path is in one', async () => {
    const { repo, header } = await setup();
    const dest = new MemoryDestination();
    const progress: RestoreProgress[] = [];
    const res = await restore(repo, header, dest, {
      leaveOut: ['/docs/deep', '/é'],
      onProgress: (p) => progress.push(p),
    });
    expect(dest.violations).toEqual([]);
    expect([...dest.entries.keys()].sort()).toEqual(['/', '/docs', '/docs/a.txt', '/docs/empty', '/link']);
    expect(res.summary).toMatchObject({ failed: 0, files: 2, directories: 2, symlinks: 1, bytes: 5 });
    expect(progress.at(-1)).toMatchObject({ done: true, totalEntries: 5, entries: 5, totalBytes: 5 });
    // A path inside a left-out sub-tree is restored as asked.
    const inside = new MemoryDestination();
    await restore(repo, header, inside, { path: '/docs/deep', leaveOut: ['/docs/deep'] });
    expect([...inside.entries.keys()].sort()).toEqual(['/', '/er', '/er/big.bin']);
  });

  it('restores a directory of the snapshot as the root', async () => {
    const { repo, header } = await setup();
    const dest = new MemoryDestination();
    const progress: RestoreProgress[] = [];
    const res = await restore(repo, header, dest, { path: '/docs', onProgress: (p) => progress.push(p) });
    expect(progress.at(-1)).toMatchObject({ done: true, totalEntries: 6, entries: 6, totalBytes: 1_000_005 });
    expect(dest.violations).toEqual([]);
    expect([...dest.entries.keys()].sort()).toEqual([
      '/',
      '/a.txt',
      '/deep',
      '/deep/er',
      '/deep/er/big.bin',
      '/empty',
    ]);
    expect(dest.entries.get('/')!.attributes).toMatchObject({
      mode: 0o750,
      mtime: { sec: 1_600_000_000, nsec: 123 },
    });
    expect(res.summary.failed).toBe(0);
    expect(Buffer.from(dest.entries.get('/deep/er/big.bin')!.bytes!).equals(big)).toBe(true);
  });

  it('restores one file under its name', async () => {
    const { repo, header } = await setup();
    const dest = new MemoryDestination();
    await restore(repo, header, dest, { path: '/é/😀' });
    expect(dest.violations).toEqual([]);
    expect([...dest.entries.keys()]).toEqual(['/', '/😀']);
    expect(Buffer.from(dest.entries.get('/😀')!.bytes!).toString()).toBe('x');
    await expect(restore(repo, header, new MemoryDestination(), { path: '/nope' })).rejects.toThrow(
      /\/nope not found in snapshot [0-9a-f]{8}/,
    );
  });

  for (const [how, opts] of [
    ['batched small files', {}],
    ['streamed windows', { readWindowBytes: 100_000 }],
  ] as const) {
    it(`refuses to write a file with a corrupt chunk, naming the file and the blob (${how})`, async () => {
      const { repo, header } = await setup();
      const e = await new TreeReader(repo, header.root).get('/docs/deep/er/big.bin', 'file');
      const bad = e!.chunks[Math.floor(e!.chunks.length / 2)]!.id;
      repo.corrupt(BlobKind.Chunk, bad);
      const dest = new MemoryDestination();
      const res = await restore(repo, header, dest, opts);
      expect(dest.entries.has('/docs/deep/er/big.bin')).toBe(false);
      expect(dest.entries.has('/docs/a.txt')).toBe(true);
      expect(res.summary).toMatchObject({ failed: 1, corrupt: 1 });
      expect(res.failures[0]).toMatchObject({ path: '/docs/deep/er/big.bin', ok: false, corrupt: true });
      expect(res.failures[0]!.error).toContain('cannot restore /docs/deep/er/big.bin');
      expect(res.failures[0]!.error).toContain(toHex(bad));
      // a missing chunk too
      repo.remove(BlobKind.Chunk, e!.chunks[0]!.id);
      const res2 = await restore(repo, header, new MemoryDestination(), opts);
      expect(res2.failures.map((f) => f.path)).toEqual(['/docs/deep/er/big.bin']);
    });
  }

  it('makes progress with one write at a time and tiny budgets, small and large files mixed', async () => {
    const repo = new MemoryRepository();
    const entries: MemoryEntry[] = [];
    for (let i = 0; i < 60; i++) {
      entries.push({
        path: `/d${i % 4}/f${i}`,
        type: 'file',
        bytes: randomBytes(i % 5 === 0 ? 120_000 : 3000),
      });
    }
    const { header } = await backup(repo, new MemorySource(entries));
    for (const concurrency of [1, 2]) {
      const dest = new MemoryDestination({ concurrency });
      const res = await restore(repo, header, dest, {
        maxBytesInFlight: 1000,
        readWindowBytes: 50_000,
        batchBytes: 5000,
      });
      expect(dest.violations).toEqual([]);
      expect(res.summary).toMatchObject({ failed: 0, files: 60 });
      for (const e of entries)
        expect(Buffer.from(dest.entries.get(e.path)!.bytes!).equals(e.bytes!)).toBe(true);
    }
  });

  it('reports entries that were backed up with an error, and the sub-tree of a directory that fails', async () => {
    const repo = new MemoryRepository();
    const { header } = await backup(
      repo,
      new MemorySource([
        { path: '/bad', type: 'file', error: 'EACCES' },
        { path: '/d/x/y', type: 'file', bytes: Buffer.from('y') },
        { path: '/e/z', type: 'file', bytes: Buffer.from('z') },
      ]),
    );
    const dest = new MemoryDestination({ concurrency: 2 });
    const write = dest.write.bind(dest);
    dest.write = async (entry, content) =>
      entry.path === '/d' ? { path: entry.path, ok: false, error: 'EPERM: mkdir /d' } : write(entry, content);
    const res = await restore(repo, header, dest);
    const failed = Object.fromEntries(res.failures.map((f) => [f.path, f.error]));
    expect(failed).toEqual({
      '/bad': 'not in the snapshot: the backup recorded EACCES',
      '/d': 'EPERM: mkdir /d',
      '/d/x': 'not restored: its directory /d could not be restored',
      '/d/x/y': 'not restored: its directory /d/x could not be restored',
    });
    expect(Buffer.from(dest.entries.get('/e/z')!.bytes!).toString()).toBe('z');
  });

  it('keeps parents before children with many entries and concurrent writes', async () => {
    const repo = new MemoryRepository();
    const entries: MemoryEntry[] = [];
    for (let i = 0; i < 600; i++)
      entries.push({
        path: `/a${i % 7}/b${i % 11}/c${i % 3}/f${i}`,
        type: 'file',
        bytes: Buffer.from(`${i}`),
      });
    const { header } = await backup(repo, new MemorySource(entries), { tree: { maxNodeEntries: 5 } });
    const dest = new MemoryDestination({ concurrency: 8 });
    const res = await restore(repo, header, dest, { maxBytesInFlight: 10 });
    expect(dest.violations).toEqual([]);
    expect(res.summary.failed).toBe(0);
    expect(res.summary.files).toBe(600);
    expect(dest.maxInFlight).toBeGreaterThan(1);
  });

  it('stops on abort', async () => {
    const { repo, header } = await setup();
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await expect(restore(repo, header, new MemoryDestination(), { signal: ac.signal })).rejects.toThrow(
      'stop',
    );
  });
});

describe('restore reads back chunks that files restored before hold', () => {
  const chunking = {
    algorithm: 'fastcdc-v1',
    min: 65_536,
    avg: 131_072,
    max: 262_144,
    normalization: 2,
  } as const;
  const original = randomBytes(1_500_000);
  const edited = Buffer.concat([
    original.subarray(0, 700_000),
    Buffer.from('EDIT'),
    original.subarray(700_004),
  ]);
  const entries: MemoryEntry[] = [
    { path: '/f/1-original.bin', type: 'file', bytes: original },
    { path: '/f/2-copy.bin', type: 'file', bytes: original },
    { path: '/f/3-edited.bin', type: 'file', bytes: edited },
  ];
  for (const refuse of [false, true]) {
    it(refuse ? 'from the store when the destination cannot give them' : 'from the destination', async () => {
      const repo = new MemoryRepository({ chunking });
      const res = await backup(repo, new MemorySource(entries));
      const refs = (await collect(new TreeReader(repo, res.header.root).entries()))
        .filter((e) => e.type === 'file')
        .reduce((n, e) => n + e.chunks.length, 0);
      const reads = vi.spyOn(repo, 'getBlob');
      class Refusing extends MemoryDestination {
        override async readWritten(): Promise<Uint8Array | undefined> {
          this.readWrittenCalls++;
          return undefined;
        }
      }
      const dest = refuse ? new Refusing({ concurrency: 1 }) : new MemoryDestination({ concurrency: 1 });
      // Files larger than the read window stream one after the other (one write at a time).
      const out = await restore(repo, res.header, dest, { readWindowBytes: 256 * 1024 });
      expect(out.summary.failed).toBe(0);
      expect(dest.violations).toEqual([]);
      expect(Buffer.from(dest.entries.get('/f/2-copy.bin')!.bytes!).equals(original)).toBe(true);
      expect(Buffer.from(dest.entries.get('/f/3-edited.bin')!.bytes!).equals(edited)).toBe(true);
      expect(dest.readWrittenCalls, 'readWritten calls').toBeGreaterThan(0);
      const storeReads = reads.mock.calls.filter(([kind]) => kind === BlobKind.Chunk).length;
      if (refuse) expect(storeReads, 'chunks read from the store').toBe(refs);
      // The copy reads nothing from the store, the edited file only the chunks around the edit.
      else expect(storeReads, `chunks read from the store, of ${refs}`).toBeLessThan(refs / 2);
    });
  }
});
