/**
 * BlobWriter compresses payloads up to 16 KiB (tree nodes up to 128 KiB) itself, hands those up to
 * 256 KiB to workers, and does the work itself if they fail.
 */
import { MemoryStorage } from '@kloset/connector-contract/testing';
import { afterEach, expect, it } from 'vitest';
import { compressIfPays, type EncodedPayload } from '../src/crypto/compression.ts';
import { BlobKind } from '../src/repository/blob-store.ts';
import { BlobWriter } from '../src/repository/blob-writer.ts';
import { IndexCache } from '../src/repository/index-cache.ts';
import { tempDir, testKeys } from './repository-helpers.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

async function writer(compress: (data: Uint8Array) => Promise<EncodedPayload> | undefined) {
  const { provider, keyRing } = await testKeys();
  const dir = tempDir();
  const cache = IndexCache.open(dir.path, provider.randomBytes(32));
  cleanups.push(() => cache.close(), dir.cleanup);
  const asked: number[] = [];
  const w = new BlobWriter({
    storage: new MemoryStorage(),
    provider,
    keyRing,
    cache,
    packfileSize: 1 << 20,
    compression: 'zstd',
    workers: () => ({
      compress: (data: Uint8Array) => {
        asked.push(data.length);
        return compress(data);
      },
    }),
  });
  return { w, asked, cache };
}

const text = new TextEncoder().encode('a line of text that compresses well\n'.repeat(500));

it('payloads up to 16 KiB are compressed without the workers, synchronously', async () => {
  const { w, asked, cache } = await writer(async (data) => compressIfPays(data, 'zstd'));
  const small = text.subarray(0, 16 * 1024);
  const put = w.putBlob(BlobKind.Chunk, small);
  // Pending as soon as putBlob returns: no await on a worker.
  expect(cache.has(BlobKind.Chunk, w.blobId(small))).toBe(true);
  const r = await put;
  expect(asked).toEqual([]);
  expect(r.stored).toBe(true);
  expect(r.storedBytes).toBe(compressIfPays(small, 'zstd').body.length + 17);
  await w.flush();
});

it('payloads above 16 KiB are compressed by the workers, large ones are not sent to them', async () => {
  const { w, asked } = await writer(async (data) => compressIfPays(data, 'zstd'));
  const small = await w.putBlob(BlobKind.Chunk, text);
  const large = new Uint8Array(300 * 1024).fill(7);
  await w.putBlob(BlobKind.Chunk, large);
  expect(asked).toEqual([text.length]);
  expect(small.stored).toBe(true);
  expect(small.storedBytes).toBeLessThan(text.length / 4);
  await w.flush();
});

it('tree nodes up to 128 KiB are compressed without the workers, chunks of that size by them', async () => {
  const { w, asked, cache } = await writer(async (data) => compressIfPays(data, 'zstd'));
  const node = new TextEncoder().encode('a tree node entry, msgpack-ish.\n'.repeat(4096)); // 128 KiB
  expect(node.length).toBe(128 * 1024);
  const put = w.putBlob(BlobKind.Tree, node);
  expect(cache.has(BlobKind.Tree, w.blobId(node))).toBe(true); // pending at once: no worker
  await put;
  expect(asked).toEqual([]);
  await w.putBlob(BlobKind.Chunk, node);
  await w.putBlob(BlobKind.Tree, new Uint8Array(128 * 1024 + 1).fill(3));
  expect(asked).toEqual([node.length, 128 * 1024 + 1]);
  await w.flush();
});

it('a worker that fails (dies) leaves the work to the calling thread, with the same result', async () => {
  const { w, asked } = await writer(() => Promise.reject(new Error('crypto worker exited with code 1')));
  const r = await w.putBlob(BlobKind.Chunk, text);
  expect(asked).toEqual([text.length]);
  expect(r.stored).toBe(true);
  expect(r.storedBytes).toBe(compressIfPays(text, 'zstd').body.length + 17);
  await w.flush();
});
