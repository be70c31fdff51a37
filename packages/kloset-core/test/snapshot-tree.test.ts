import { describe, expect, it } from 'vitest';
import { BlobKind } from '../src/repository/blob-store.ts';
import type { SnapshotEntry } from '../src/snapshot/entry.ts';
import { decodeEntry, encodeEntry, entryToMap } from '../src/snapshot/entry-codec.ts';
import { sortKey } from '../src/snapshot/entry-key.ts';
import { TreeBuilder } from '../src/snapshot/tree-builder.ts';
import { TreeReader } from '../src/snapshot/tree-reader.ts';
import { collect, entry, MemoryBlobStore } from './snapshot-fixtures.ts';

function sorted(entries: SnapshotEntry[]): SnapshotEntry[] {
  return [...entries].sort((a, b) => Buffer.compare(sortKey(a.path, a.type), sortKey(b.path, b.type)));
}

async function build(store: MemoryBlobStore, entries: SnapshotEntry[], opts = {}) {
  const b = new TreeBuilder(store, opts);
  for (const e of sorted(entries)) await b.add(e);
  return b.finish();
}

/** /dI (directories) each with sJ sub-directories each with files fK. */
function bigTree(dirs: number, subs: number, files: number): SnapshotEntry[] {
  const out: SnapshotEntry[] = [entry('/', 'directory')];
  for (let i = 0; i < dirs; i++) {
    out.push(entry(`/d${i}`, 'directory'));
    for (let j = 0; j < subs; j++) {
      out.push(entry(`/d${i}/s${j}`, 'directory'));
      for (let k = 0; k < files; k++) out.push(entry(`/d${i}/s${j}/f${k}`, 'file', { size: k }));
    }
  }
  return out;
}

describe('entry codec', () => {
  it('round-trips every field, and omits empty ones', () => {
    const full = entry('/a/😀 b', 'file', {
      size: 2 ** 40,
      mtime: { sec: 2 ** 33, nsec: 999_999_999 },
      mode: 0o755,
      uid: 1000,
      gid: 2 ** 32 + 1,
      metadata: { 's3.content-type': 'text/plain', 'x.y': '' },
      changeToken: 'etag-1',
      chunks: [{ id: new Uint8Array(32).fill(7), length: 8 * 1024 * 1024 }],
      error: undefined,
    });
    const back = decodeEntry(encodeEntry(full));
    expect({ ...back, chunks: back.chunks.map((c) => ({ id: [...c.id], length: c.length })) }).toEqual({
      ...full,
      error: undefined,
      chunks: [{ id: [...new Uint8Array(32).fill(7)], length: 8 * 1024 * 1024 }],
    });
    const link = entry('/l', 'symlink', { linkTarget: '../x', error: 'boom' });
    expect(decodeEntry(encodeEntry(link))).toEqual(link);
    // minimal encoding: path, type, size, mtime only
    expect(Object.keys(decodeEntry(encodeEntry(entry('/d', 'directory'))))).toEqual([
      'path',
      'type',
      'size',
      'mtime',
      'metadata',
      'chunks',
    ]);
  });
});

describe('entry codec: names as bytes', () => {
  it('keeps name_bytes and link_bytes as bin, read back as copies', () => {
    const nameBytes = Uint8Array.of(0x63, 0x61, 0x66, 0xe9); // 'caf' + Latin-1 é
    const linkTargetBytes = Uint8Array.of(0x2e, 0x2e, 0x2f, 0xff);
    const e = entry('/d/caf\uEFE9', 'symlink', { nameBytes, linkTarget: '../\uEFFF', linkTargetBytes });
    const bytes = encodeEntry(e);
    const map = entryToMap(e);
    expect(map.name_bytes).toBe(nameBytes);
    expect(map.link_bytes).toBe(linkTargetBytes);
    const back = decodeEntry(bytes);
    expect(back).toEqual(e);
    expect(back.nameBytes!.buffer).not.toBe(bytes.buffer);
    // Absent when the name is plain.
    expect(Object.keys(entryToMap(entry('/plain', 'file')))).not.toContain('name_bytes');
  });
});

describe('tree builder and reader', () => {
  it('stores an empty tree and a one-leaf tree', async () => {
    const store = new MemoryBlobStore();
    const empty = await build(store, []);
    expect(empty.height).toBe(1);
    expect(await collect(new TreeReader(store, empty.root).entries())).toEqual([]);
    const small = await build(store, [entry('/', 'directory'), entry('/a'), entry('/b', 'directory')]);
    expect(small).toMatchObject({ entries: 3, nodes: 1, height: 1 });
    const r = new TreeReader(store, small.root);
    expect((await collect(r.entries())).map((e) => e.path)).toEqual(['/', '/a', '/b']);
    expect(await r.get('/a', 'file')).toMatchObject({ path: '/a', type: 'file' });
    expect(await r.get('/a', 'directory')).toBeUndefined();
    expect(await r.get('/zz', 'file')).toBeUndefined();
  });

  it('keeps a file and a directory of the same name apart', async () => {
    const store = new MemoryBlobStore();
    const t = await build(store, [
      entry('/', 'directory'),
      entry('/a', 'file', { size: 1 }),
      entry('/a', 'directory'),
      entry('/a/b'),
      entry('/a/b', 'directory'),
      entry('/a/b/c'),
    ]);
    const r = new TreeReader(store, t.root);
    expect((await r.find('/a')).map((e) => e.type)).toEqual(['file', 'directory']);
    expect((await r.lookup('/a'))?.type).toBe('directory');
    expect((await collect(r.children('/a'))).map((e) => `${e.path}:${e.type}`)).toEqual([
      '/a/b:file',
      '/a/b:directory',
    ]);
    expect((await collect(r.subtree('/a'))).map((e) => `${e.path}:${e.type}`)).toEqual([
      '/a/b:file',
      '/a/b:directory',
      '/a/b/c:file',
    ]);
  });

  it('refuses entries out of order and duplicates, naming the paths', async () => {
    const store = new MemoryBlobStore();
    const b = new TreeBuilder(store);
    await b.add(entry('/b'));
    await expect(b.add(entry('/a'))).rejects.toThrow('/a after /b');
    const c = new TreeBuilder(store);
    await c.add(entry('/b'));
    await expect(c.add(entry('/b'))).rejects.toThrow('duplicate entry /b');
  });

  it('handles unicode, astral names and deep paths', async () => {
    const store = new MemoryBlobStore();
    const names = ['a', 'Z', 'é', '中文', '\uFFFD', '😀', '𝄞', '\uE000x', 'a b', 'a\u0001'];
    const entries: SnapshotEntry[] = [entry('/', 'directory')];
    for (const n of names) {
      entries.push(entry(`/${n}`, 'directory'));
      for (const m of names) entries.push(entry(`/${n}/${m}`, 'file'));
    }
    let deep = '';
    for (let i = 0; i < 200; i++) {
      deep += `/deep${i % 3}`;
      entries.push(entry(deep, 'directory'));
    }
    entries.push(entry(`${deep}/leaf`));
    const t = await build(store, entries, { maxNodeEntries: 4, maxNodeBytes: 2048 });
    expect(t.height).toBeGreaterThan(2);
    const r = new TreeReader(store, t.root, { cacheNodes: 4 });
    const all = await collect(r.entries());
    expect(all.map((e) => e.path)).toEqual(sorted(entries).map((e) => e.path));
    // astral characters sort after U+FFFD (UTF-8 order), unlike JS string order
    const top = (await collect(r.children('/'))).map((e) => e.path.slice(1));
    expect(top.indexOf('😀')).toBeGreaterThan(top.indexOf('\uFFFD'));
    expect(top.indexOf('\uE000x')).toBeLessThan(top.indexOf('\uFFFD'));
    for (const e of entries)
      expect(await r.get(e.path, e.type)).toMatchObject({ path: e.path, type: e.type });
    expect((await collect(r.children('/😀'))).length).toBe(names.length);
    expect(await r.get(`${deep}/leaf`, 'file')).toBeDefined();
    expect((await collect(r.subtree(deep))).map((e) => e.path)).toEqual([`${deep}/leaf`]);
  });

  it('builds several levels for 100k entries and scans them with bounded memory', async () => {
    const store = new MemoryBlobStore();
    const entries = bigTree(20, 50, 99); // 1 + 20 + 1000 + 99,000 = 100,021
    const t = await build(store, entries, { maxNodeEntries: 16, maxNodeBytes: 4096 });
    expect(t.entries).toBe(100_021);
    expect(t.height).toBeGreaterThanOrEqual(4);
    expect(store.count(BlobKind.Tree)).toBe(t.nodes);

    // A full scan reads each node exactly once, with a 2-node cache: memory is the root-to-leaf path.
    const r = new TreeReader(store, t.root, { cacheNodes: 2 });
    let n = 0;
    let prev: Buffer | undefined;
    for await (const { key } of r.scan(sortKey('/', 'directory'))) {
      if (prev !== undefined) expect(Buffer.compare(prev, key)).toBeLessThan(0);
      prev = key;
      n++;
    }
    expect(n).toBe(t.entries);
    expect(r.nodeLoads).toBe(t.nodes);

    const r2 = new TreeReader(store, t.root, { cacheNodes: 8 });
    const listing = await collect(r2.children('/d7/s3'));
    expect(listing.map((e) => e.path)).toEqual(
      Array.from({ length: 99 }, (_, k) => `/d7/s3/f${k}`).sort((a, b) =>
        Buffer.compare(Buffer.from(a), Buffer.from(b)),
      ),
    );
    const sub = await collect(r2.subtree('/d13'));
    expect(sub.length).toBe(50 + 50 * 99);
    expect(sub[0]?.path).toBe('/d13/s0');
    expect(sub.every((e) => e.path.startsWith('/d13/'))).toBe(true);
    // parents first: every directory comes before its children
    const seen = new Set<string>(['/d13']);
    for (const e of sub) {
      expect(seen.has(e.path.slice(0, e.path.lastIndexOf('/')))).toBe(true);
      if (e.type === 'directory') seen.add(e.path);
    }
    expect(await r2.get('/d19/s49/f98', 'file')).toMatchObject({ size: 98 });
    expect(await r2.get('/d19/s49/f99', 'file')).toBeUndefined();
    expect(await r2.get('/d20', 'directory')).toBeUndefined();
    expect(await collect(r2.children('/d0/s0/f1'))).toEqual([]);
    expect((await collect(r2.children('/'))).length).toBe(20);
  });

  it('reports which tree node could not be read', async () => {
    const store = new MemoryBlobStore();
    const t = await build(store, bigTree(2, 2, 10), { maxNodeEntries: 4 });
    store.corrupt(BlobKind.Tree, t.root);
    const r = new TreeReader(store, t.root, { label: 'snapshot abcd' });
    await expect(r.get('/d0', 'directory')).rejects.toThrow(
      /snapshot abcd: cannot read tree node [0-9a-f]{64}: .*corrupt/,
    );
  });
});
