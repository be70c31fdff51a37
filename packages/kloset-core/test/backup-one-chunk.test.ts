/**
 * Content of at most the chunker's minimum is stored as one chunk without running the chunker
 * (backup/file-content.ts): the chunks must be exactly those the chunker gives, whatever pieces
 * the source yields, and content longer than the record said still goes through the chunker.
 */
import type { OpenedContent } from '@kloset/connector-contract';
import { deterministicBytes } from '@kloset/connector-contract/testing';
import { describe, expect, it } from 'vitest';
import { backup } from '../src/backup/backup.ts';
import { chunkBuffer, chunkStream, makeChunker } from '../src/chunking/fastcdc.ts';
import { BlobKind } from '../src/repository/blob-store.ts';
import { TreeReader } from '../src/snapshot/tree-reader.ts';
import { MemoryRepository, OpenHookSource, SMALL_CHUNKING } from './snapshot-fixtures.ts';

const MIN = SMALL_CHUNKING.min;

/** Content that yields `bytes` in pieces of `piece` bytes (and an empty piece first). */
function pieces(bytes: Uint8Array, piece: number): OpenedContent {
  return (async function* () {
    yield new Uint8Array(0);
    for (let off = 0; off < bytes.length; off += piece) yield bytes.subarray(off, off + piece);
  })();
}

const FILES = [0, 1, MIN - 1, MIN, MIN + 1, 7 * MIN].map((size, i) => ({
  path: `/f${i}`,
  type: 'file' as const,
  bytes: deterministicBytes(40 + i, size),
}));

async function chunksOf(repo: MemoryRepository, root: Uint8Array, path: string) {
  const e = await new TreeReader(repo, root).get(path, 'file');
  if (!e) throw new Error(`no ${path}`);
  return e.chunks;
}

describe('content of at most the minimum chunk', () => {
  it('gives the chunks the chunker gives, whatever the pieces, and the same tree', async () => {
    const repo = new MemoryRepository();
    const gear = repo.keyRing.gear;
    const one = new OpenHookSource(FILES, {}, async (record) =>
      pieces(FILES.find((f) => f.path === record.path)!.bytes, 700),
    );
    const shortcut = await backup(repo, one);
    // An explicit chunker turns the shortcut off: every file goes through it.
    const viaChunker = await backup(
      repo,
      new OpenHookSource(FILES, {}, async (r) => pieces(FILES.find((f) => f.path === r.path)!.bytes, 700)),
      {
        parent: null,
        chunker: (content) => chunkStream(content, SMALL_CHUNKING, gear),
      },
    );
    expect(shortcut.filesRead).toBe(FILES.length);
    expect(viaChunker.filesRead).toBe(FILES.length);
    expect(Buffer.from(shortcut.header.root).equals(Buffer.from(viaChunker.header.root))).toBe(true);
    const chunker = makeChunker(SMALL_CHUNKING, gear);
    for (const f of FILES) {
      const chunks = await chunksOf(repo, shortcut.header.root, f.path);
      const expected = [...chunkBuffer(f.bytes, chunker)];
      expect(chunks.map((c) => c.length)).toEqual(expected.map((c) => c.length));
      const stored = await Promise.all(chunks.map((c) => repo.getBlob(BlobKind.Chunk, c.id)));
      expect(Buffer.concat(stored).equals(Buffer.from(f.bytes))).toBe(true);
    }
    // The largest file is below the maximum chunk and cut (so a wrong threshold would show).
    expect([...chunkBuffer(FILES[5]!.bytes, chunker)].length).toBeGreaterThan(1);
    // A small file is one chunk; the empty file none.
    expect((await chunksOf(repo, shortcut.header.root, '/f0')).length).toBe(0);
    expect((await chunksOf(repo, shortcut.header.root, '/f3')).length).toBe(1);
  });

  it('content longer than the record said goes through the chunker', async () => {
    const long = deterministicBytes(77, 9 * MIN);
    const repo = new MemoryRepository();
    const source = new OpenHookSource(
      [{ path: '/grown', type: 'file', bytes: long.subarray(0, 10) }],
      {},
      async () => pieces(long, 1000),
    );
    const res = await backup(repo, source);
    const chunks = await chunksOf(repo, res.header.root, '/grown');
    const expected = [...chunkBuffer(long, makeChunker(SMALL_CHUNKING, repo.keyRing.gear))];
    expect(expected.length).toBeGreaterThan(1);
    expect(chunks.map((c) => c.length)).toEqual(expected.map((c) => c.length));
    const stored = await Promise.all(chunks.map((c) => repo.getBlob(BlobKind.Chunk, c.id)));
    expect(Buffer.concat(stored).equals(Buffer.from(long))).toBe(true);
  });
});
