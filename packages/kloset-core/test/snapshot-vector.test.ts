/**
 * The snapshot test vector (FORMAT.md §8, §11): a few entries in key order with their sort keys,
 * the tree nodes built from them (small nodes, to get two levels), their blob ids under the vector
 * key K = 00..1f / store_id = 80..9f, and an encoded header. Readers must decode the bytes to the
 * listed values; the bytes are what this implementation writes (others need not match them byte
 * for byte, but must order entries the same way).
 *
 * Regenerate with `KLOSET_WRITE_VECTORS=1 npx vitest run test/snapshot-vector.test.ts`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deriveKeyRing } from '../src/crypto/key-ring.ts';
import { nodeCryptoProvider } from '../src/crypto/node-provider.ts';
import { toHex } from '../src/encoding/bytes.ts';
import { BlobKind } from '../src/repository/blob-store.ts';
import type { SnapshotEntry } from '../src/snapshot/entry.ts';
import { entryKey, sortKey } from '../src/snapshot/entry-key.ts';
import { decodeHeader, encodeHeader, type SnapshotHeader } from '../src/snapshot/header.ts';
import { TreeBuilder } from '../src/snapshot/tree-builder.ts';
import { decodeNode } from '../src/snapshot/tree-node.ts';
import { TreeReader } from '../src/snapshot/tree-reader.ts';
import { collect, MemoryBlobStore } from './snapshot-fixtures.ts';

const VECTOR = join(import.meta.dirname, 'snapshot-vector.json');

interface Vector {
  readonly description: string;
  readonly node_limits: { readonly max_node_entries: number };
  readonly entries: { readonly path: string; readonly type: string; readonly sort_key: string }[];
  readonly nodes: { readonly id: string; readonly bytes: string; readonly leaf: boolean }[];
  readonly root: string;
  readonly header: { readonly id: string; readonly bytes: string };
}

const K = Uint8Array.from({ length: 32 }, (_, i) => i);
const STORE_ID = Uint8Array.from({ length: 32 }, (_, i) => 0x80 + i);
const keyRing = deriveKeyRing(nodeCryptoProvider, K, STORE_ID);

/** A MemoryBlobStore whose ids are the store's keyed MACs (FORMAT §4.1). */
class VectorStore extends MemoryBlobStore {
  readonly order: string[] = [];
  override blobId(data: Uint8Array): Uint8Array {
    return nodeCryptoProvider.hmacSha256(keyRing.macKey, data);
  }
  override async putBlob(kind: BlobKind, data: Uint8Array) {
    const r = await super.putBlob(kind, data);
    if (r.stored) this.order.push(toHex(r.id));
    return r;
  }
}

const mtime = { sec: 1_700_000_000, nsec: 123_456_789 };
const chunk = (n: number) => ({
  id: Uint8Array.from({ length: 32 }, (_, i) => (n * 31 + i) & 0xff),
  length: 1000 * n,
});
const ENTRIES: SnapshotEntry[] = [
  {
    path: '/',
    type: 'directory',
    size: 0,
    mtime,
    mode: 0o755,
    uid: 1000,
    gid: 1000,
    metadata: {},
    chunks: [],
  },
  {
    path: '/a',
    type: 'file',
    size: 3000,
    mtime,
    mode: 0o644,
    metadata: {},
    chunks: [chunk(1), chunk(2)],
    changeToken: 't1',
  },
  { path: '/a', type: 'directory', size: 0, mtime, mode: 0o700, metadata: {}, chunks: [] },
  { path: '/a/x', type: 'symlink', size: 0, mtime, metadata: {}, chunks: [], linkTarget: '../b' },
  {
    path: '/a/é',
    type: 'file',
    size: 0,
    mtime: { sec: -1, nsec: 0 },
    metadata: { 's3.content-type': 'text/plain' },
    chunks: [],
  },
  {
    path: '/a/\uFFFD',
    type: 'file',
    size: 0,
    mtime,
    metadata: {},
    chunks: [],
    error: 'EACCES: permission denied',
  },
  { path: '/a/😀', type: 'directory', size: 0, mtime, metadata: {}, chunks: [] },
  { path: '/a/😀/deep', type: 'file', size: 5000, mtime, metadata: {}, chunks: [chunk(5)] },
  { path: '/a!', type: 'directory', size: 0, mtime, metadata: {}, chunks: [] },
  { path: '/a!/y', type: 'file', size: 0, mtime, metadata: {}, chunks: [] },
  { path: '/b', type: 'file', size: 0, mtime, metadata: {}, chunks: [] },
];

const HEADER_ID = Uint8Array.from({ length: 32 }, (_, i) => 0xc0 + i);

async function build(): Promise<Vector> {
  const store = new VectorStore();
  const shuffled = [...ENTRIES].reverse();
  shuffled.sort((a, b) => Buffer.compare(sortKey(a.path, a.type), sortKey(b.path, b.type)));
  const builder = new TreeBuilder(store, { maxNodeEntries: 3 });
  for (const e of shuffled) await builder.add(e);
  const tree = await builder.finish();
  const header: SnapshotHeader = {
    id: HEADER_ID,
    time: 1_700_000_000_123,
    durationMs: 4567,
    name: 'vector',
    tags: ['t', 'ü'],
    hostname: 'host',
    username: 'user',
    source: { protocol: 'fs', origin: 'host', root: '/data' },
    root: tree.root,
    summary: {
      files: 6,
      directories: 4,
      symlinks: 1,
      errors: 1,
      bytes: 8000,
      storedBytes: 2 ** 33,
      newBlobs: 5,
      reusedEntries: 0,
    },
  };
  return {
    description:
      'FORMAT.md §8: entries in key order with their sort keys; the tree built with at most 3 items per node ' +
      '(nodes in the order written, with their blob ids under K = 00..1f, store_id = 80..9f); a header.',
    node_limits: { max_node_entries: 3 },
    entries: shuffled.map((e) => ({
      path: e.path,
      type: e.type,
      sort_key: sortKey(e.path, e.type).toString('hex'),
    })),
    nodes: store.order.map((id) => {
      const blob = store.blobs.get(`${BlobKind.Tree}:${id}`)!;
      return { id, bytes: Buffer.from(blob.data).toString('hex'), leaf: decodeNode(blob.data, id).leaf };
    }),
    root: toHex(tree.root),
    header: { id: toHex(HEADER_ID), bytes: Buffer.from(encodeHeader(header)).toString('hex') },
  };
}

describe('snapshot test vector', () => {
  it('matches the checked-in vector', async () => {
    const built = await build();
    if (process.env.KLOSET_WRITE_VECTORS === '1')
      writeFileSync(VECTOR, `${JSON.stringify(built, null, 2)}\n`);
    const vector = JSON.parse(readFileSync(VECTOR, 'utf8')) as Vector;
    expect(built).toEqual(vector);
    expect(vector.nodes.filter((n) => !n.leaf).length).toBeGreaterThan(0);
  });

  it('decodes from the vector bytes alone', async () => {
    const vector = JSON.parse(readFileSync(VECTOR, 'utf8')) as Vector;
    const store = new VectorStore();
    for (const n of vector.nodes) {
      const bytes = Buffer.from(n.bytes, 'hex');
      const r = await store.putBlob(BlobKind.Tree, bytes);
      expect(toHex(r.id)).toBe(n.id); // the id is the keyed MAC of the node bytes
    }
    const entries = await collect(new TreeReader(store, Buffer.from(vector.root, 'hex')).entries());
    expect(entries.map((e) => [e.path, e.type])).toEqual(vector.entries.map((e) => [e.path, e.type]));
    const byKey = new Map(ENTRIES.map((e) => [`${e.type}:${e.path}`, e]));
    for (const e of entries) expect(e).toEqual(byKey.get(`${e.type}:${e.path}`));
    for (const e of vector.entries) {
      const k = entryKey(e.path, e.type as SnapshotEntry['type']);
      expect(sortKey(e.path, e.type as SnapshotEntry['type']).toString('hex')).toBe(e.sort_key);
      expect(k.name).toBe(e.path === '/' ? '' : e.path.slice(e.path.lastIndexOf('/') + 1));
    }
    const h = decodeHeader(Buffer.from(vector.header.bytes, 'hex'), vector.header.id);
    expect(h).toMatchObject({ time: 1_700_000_000_123, name: 'vector', tags: ['t', 'ü'] });
    expect(h.summary.storedBytes).toBe(2 ** 33);
    expect(toHex(h.root)).toBe(vector.root);
  });
});
