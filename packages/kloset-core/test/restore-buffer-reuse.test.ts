/**
 * Restore into a destination that `releasesChunks`: the read buffers of coalesced reads are given
 * back and read into again, but never while a chunk in them is still being written.
 */
import type { ContentStream, Destination, EntryAttributes, WriteResult } from '@kloset/connector-contract';
import { type MemoryEntry, MemorySource } from '@kloset/connector-contract/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { backup } from '../src/backup/backup.ts';
import { ReadBufferPool, sizeClass } from '../src/repository/read-buffers.ts';
import { restore } from '../src/restore/restore.ts';
import { createTestRepository, pseudoRandom, tempDir } from './repository-helpers.ts';

/**
 * Takes each chunk, yields to the event loop (other reads land meanwhile), then checks the chunk
 * did not change under it before keeping a copy: a buffer reused too early shows up here.
 */
class SlowDestination implements Destination {
  readonly location = 'memory://slow';
  readonly concurrency = 4;
  readonly releasesChunks: boolean;
  readonly files = new Map<string, Uint8Array>();
  readonly changed: string[] = [];

  constructor(releasesChunks: boolean) {
    this.releasesChunks = releasesChunks;
  }

  async write(entry: EntryAttributes, content?: ContentStream): Promise<WriteResult> {
    if (content === undefined) return { path: entry.path, ok: true };
    const parts: Uint8Array[] = [];
    for await (const chunk of content) {
      const seen = chunk.slice();
      await new Promise((resolve) => setTimeout(resolve, 1));
      if (Buffer.compare(seen, chunk) !== 0) this.changed.push(entry.path);
      parts.push(seen);
    }
    this.files.set(entry.path, Buffer.concat(parts));
    return { path: entry.path, ok: true };
  }
  async finish(): Promise<void> {}
  async close(): Promise<void> {}
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  for (const c of cleanups.splice(0)) c();
});

// Large files (several windows), small ones (prefetched in batches), and repeated content.
const tree: MemoryEntry[] = [
  ...Array.from({ length: 6 }, (_, i) => ({
    path: `/large-${i}.bin`,
    type: 'file' as const,
    bytes: pseudoRandom(100 + i, 3_000_000 + i * 777_777),
  })),
  ...Array.from({ length: 40 }, (_, i) => ({
    path: `/small/${String(i).padStart(2, '0')}.bin`,
    type: 'file' as const,
    bytes: pseudoRandom(i % 7, 20_000 + i * 13_001),
  })),
  {
    path: '/twice.bin',
    type: 'file',
    bytes: Buffer.concat([pseudoRandom(3, 2_000_000), pseudoRandom(3, 2_000_000)]),
  },
];

describe('restore with reused read buffers', () => {
  it('size classes: powers of two up to 1 MiB, then whole MiB', () => {
    expect([1, 65_536, 65_537, 700_000, 1_048_576, 1_048_577, 9_000_000].map(sizeClass)).toEqual([
      65_536, 65_536, 131_072, 1_048_576, 1_048_576, 2_097_152, 9_437_184,
    ]);
  });

  it('the pool hands a given-back buffer out again, once, and keeps no more than its limit', () => {
    const pool = new ReadBufferPool(3 * 1024 * 1024);
    const a = pool.take(1_500_000);
    expect(a.byteLength).toBe(2 * 1024 * 1024);
    pool.give(a);
    pool.give(a); // a second give of the same buffer is ignored
    expect(pool.idleBytes).toBe(2 * 1024 * 1024);
    const b = pool.take(1_200_000);
    expect(b.buffer).toBe(a.buffer);
    expect(pool.take(1_200_000).buffer).not.toBe(a.buffer);
    pool.give(b);
    pool.give(pool.take(2_500_000)); // a new 3 MiB buffer, over the limit: dropped
    expect(pool.idleBytes).toBe(2 * 1024 * 1024);
    pool.give(b.subarray(1)); // not a whole buffer: ignored
    expect(pool.idleBytes).toBe(2 * 1024 * 1024);
  });

  it('a waiting buffer serves a smaller read, up to twice the size class of the read', () => {
    const MiB = 1024 * 1024;
    const pool = new ReadBufferPool(64 * MiB);
    const six = pool.take(6 * MiB);
    const eight = pool.take(8 * MiB);
    pool.give(eight);
    pool.give(six);
    const a = pool.take(3_500_000); // class 4 MiB: the 6 MiB buffer, the smallest that holds it
    expect(a.buffer).toBe(six.buffer);
    const b = pool.take(3_500_000); // then the 8 MiB one (twice 4 MiB)
    expect(b.buffer).toBe(eight.buffer);
    pool.give(a);
    const c = pool.take(2_000_000); // class 2 MiB: 6 MiB would waste more than twice it
    expect(c.buffer).not.toBe(six.buffer);
    expect(c.byteLength).toBe(2 * MiB);
    expect(pool.idleBytes).toBe(6 * MiB);
  });

  for (const releasesChunks of [true, false]) {
    it(`restores identical content, buffers ${releasesChunks ? 'reused' : 'never given back'}`, async () => {
      const dir = tempDir();
      cleanups.push(dir.cleanup);
      const { repo } = await createTestRepository(dir.path);
      cleanups.push(() => void repo.close());
      const res = await backup(repo, new MemorySource(tree));
      const give = vi.spyOn(ReadBufferPool.prototype, 'give');
      const dest = new SlowDestination(releasesChunks);
      const out = await restore(repo, res.header, dest, { readWindowBytes: 2 * 1024 * 1024 });
      expect(out.summary.failed).toBe(0);
      expect(dest.changed).toEqual([]);
      for (const e of tree) {
        if (e.type !== 'file') continue;
        expect(Buffer.compare(dest.files.get(e.path)!, e.bytes!), e.path).toBe(0);
      }
      // Reads whose blobs are all compressed (none here: random data) give their buffer back at once.
      if (releasesChunks) expect(give.mock.calls.length).toBeGreaterThan(10);
      else expect(give).not.toHaveBeenCalled();
    });
  }
});

/** Fails every file after taking its first chunk, without closing the content stream. */
class AbandoningDestination implements Destination {
  readonly location = 'memory://abandoning';
  readonly concurrency = 2;
  readonly releasesChunks = true;
  async write(entry: EntryAttributes, content?: ContentStream): Promise<WriteResult> {
    if (content === undefined) return { path: entry.path, ok: true };
    await content[Symbol.asyncIterator]().next();
    throw new Error(`disk full writing ${entry.path}`);
  }
  async finish(): Promise<void> {}
  async close(): Promise<void> {}
}

it('a destination that stops reading without closing the stream does not hold the read-ahead', async () => {
  const dir = tempDir();
  cleanups.push(dir.cleanup);
  const { repo } = await createTestRepository(dir.path);
  cleanups.push(() => void repo.close());
  const res = await backup(repo, new MemorySource(tree));
  // One window of read-ahead in all: a stream left suspended would hold it, and the next large
  // file would wait for it forever.
  const out = await restore(repo, res.header, new AbandoningDestination(), {
    readWindowBytes: 2 * 1024 * 1024,
    maxBytesInFlight: 2 * 1024 * 1024,
  });
  expect(out.summary.failed).toBe(tree.length);
  expect(out.failures.every((f) => /disk full/.test(f.error ?? ''))).toBe(true);
}, 30_000);
