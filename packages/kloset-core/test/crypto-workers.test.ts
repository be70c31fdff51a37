import { afterEach, describe, expect, it, vi } from 'vitest';
import { compressIfPays } from '../src/crypto/compression.ts';
import { blobId } from '../src/crypto/key-ring.ts';
import { concatBytes, toHex } from '../src/encoding/bytes.ts';
import { PackfileWriter } from '../src/packfile/writer.ts';
import { BlobKind } from '../src/repository/blob-store.ts';
import { CryptoPool, cryptoWorkerCount } from '../src/workers/crypto-pool.ts';
import { type OpenBlobsRequest, openBlobsInPlace } from '../src/workers/open-blobs.ts';
import { createTestRepository, pseudoRandom, tempDir, testKeys } from './repository-helpers.ts';

/** A packfile's blob bytes (no index) and the request that opens them, listing blob 1 twice. */
async function packedBlobs() {
  const { provider, keyRing } = await testKeys();
  const packId = provider.randomBytes(32);
  const writer = new PackfileWriter({
    provider,
    keyRing,
    id: packId,
    targetSize: 1 << 24,
    compression: 'zstd',
  });
  const text = new TextEncoder().encode('a compressible line of text\n'.repeat(3000));
  const data = [pseudoRandom(1, 300_000), text, pseudoRandom(2, 10), new Uint8Array(0)];
  const entries = data.map((d) =>
    writer.add(BlobKind.Chunk, blobId(provider, keyRing, d), compressIfPays(d, 'zstd'), d.length),
  );
  const parts: Uint8Array[] = [];
  for await (const p of writer.finish().body.open()) parts.push(p);
  const bytes = concatBytes(...parts).slice(0, writer.dataSize);
  const listed = [...entries, entries[1]!];
  const req: OpenBlobsRequest = {
    macKey: keyRing.macKey,
    encKey: keyRing.encKey,
    packId,
    blobs: listed.map((e) => ({
      kind: e.kind,
      id: e.id,
      start: e.offset,
      length: e.length,
      packOffset: e.offset,
      rawLength: e.rawLength,
    })),
  };
  return { data: [...data, data[1]!], bytes, req, entries };
}

describe('opening blobs in place', () => {
  it('gives each plaintext (compressed or not, listed twice or not) and names what fails', async () => {
    const { data, bytes, req, entries } = await packedBlobs();
    const outcomes = openBlobsInPlace(bytes.slice(), req);
    expect(outcomes.map((o) => (o.ok ? toHex(o.data) : o.reason))).toEqual(data.map(toHex));

    const flipped = bytes.slice();
    flipped[entries[0]!.offset + 5]! ^= 1;
    const bad = openBlobsInPlace(flipped, req);
    expect(bad[0]).toEqual({ ok: false, reason: 'authentication failed' });
    expect(bad.slice(1).every((o) => o.ok)).toBe(true);

    const wrongLength = { ...req, blobs: req.blobs.map((b, i) => (i === 2 ? { ...b, rawLength: 9 } : b)) };
    expect(openBlobsInPlace(bytes.slice(), wrongLength)[2]).toEqual({
      ok: false,
      reason: expect.stringMatching(/^(plaintext is 10 bytes, index says 9|zstd)/),
    });
  });
});

describe('crypto workers', () => {
  const saved = process.env.KLOSET_CRYPTO_WORKERS;
  afterEach(() => {
    if (saved === undefined) delete process.env.KLOSET_CRYPTO_WORKERS;
    else process.env.KLOSET_CRYPTO_WORKERS = saved;
  });

  it('open the blobs of a transferred read like the calling thread does', async () => {
    const pool = CryptoPool.shared();
    expect(pool?.available).toBe(true);
    const { data, bytes, req, entries } = await packedBlobs();
    const flipped = bytes.slice();
    flipped[entries[2]!.offset]! ^= 1;
    const readLength = bytes.length;
    const [good, bad] = await Promise.all(
      [pool!.openBlobs(flipped, req), pool!.openBlobs(bytes, req)].reverse(),
    );
    expect(bytes.buffer.byteLength).toBe(0); // transferred, not copied
    expect(good!.outcomes.map((o) => (o.ok ? toHex(o.data) : o.reason))).toEqual(data.map(toHex));
    expect(bad!.outcomes.map((o) => o.ok)).toEqual([true, true, false, true, true]);
    // The read's buffer comes back, and plaintexts of uncompressed blobs are views of it.
    expect(good!.buffer.byteLength).toBe(readLength);
    expect(good!.outcomes.some((o) => o.ok && o.data.buffer === good!.buffer)).toBe(true);
    // A view of a larger buffer is copied first: the caller's buffer is left as it was.
    const other = await packedBlobs();
    const wider = new Uint8Array(other.bytes.length + 10);
    wider.set(other.bytes, 5);
    const outcomes = await pool!.openBlobs(wider.subarray(5, 5 + other.bytes.length), other.req);
    expect(outcomes!.outcomes.every((o) => o.ok)).toBe(true);
    expect(toHex(wider.subarray(5, 5 + other.bytes.length))).toBe(toHex(other.bytes));
    // The same with a Buffer view (whose `slice` is a view, not a copy).
    const third = await packedBlobs();
    const buf = Buffer.alloc(third.bytes.length + 10);
    buf.set(third.bytes, 5);
    const viaBuffer = await pool!.openBlobs(buf.subarray(5, 5 + third.bytes.length), third.req);
    expect(viaBuffer!.outcomes.every((o) => o.ok)).toBe(true);
    expect(buf.length).toBe(third.bytes.length + 10);
    expect(toHex(buf.subarray(5, 5 + third.bytes.length))).toBe(toHex(third.bytes));
  });

  it('compress payloads like compressIfPays, leaving the caller its data', async () => {
    const pool = CryptoPool.shared();
    expect(pool?.available).toBe(true);
    const text = new TextEncoder().encode('a compressible line of text\n'.repeat(2000));
    const wider = new Uint8Array(text.length + 8);
    wider.set(text, 4);
    const view = wider.subarray(4, 4 + text.length);
    const noise = pseudoRandom(3, 100_000);
    const [zipped, raw, tiny] = await Promise.all([
      pool!.compress(view, 3),
      pool!.compress(noise, 3),
      pool!.compress(new Uint8Array(10), 3),
    ]);
    const expected = compressIfPays(text, 'zstd');
    expect(zipped!.codec).toBe(expected.codec);
    expect(zipped!.codec).not.toBe(0);
    expect(toHex(zipped!.body)).toBe(toHex(expected.body));
    expect(toHex(view)).toBe(toHex(text)); // copied, not transferred
    expect(raw!.codec).toBe(0);
    expect(raw!.body).toBe(noise); // not worth it: the caller's own array
    expect(tiny!.codec).toBe(0);
    // A Buffer (whose `slice` is a view), whole or a view of a larger one (a source's read
    // buffer, Buffer's pool): the right bytes are compressed and the caller's memory is kept.
    const whole = Buffer.from(text);
    const pooled = Buffer.from(noise.subarray(0, 2000));
    const inPool = Buffer.allocUnsafe(text.length + 100);
    inPool.set(text, 50);
    const part = inPool.subarray(50, 50 + text.length);
    const [a, b, c] = await Promise.all([
      pool!.compress(whole, 3),
      pool!.compress(pooled, 3),
      pool!.compress(part, 3),
    ]);
    expect(toHex(a!.body)).toBe(toHex(expected.body));
    expect(toHex(c!.body)).toBe(toHex(expected.body));
    expect(b!.codec).toBe(0);
    expect(toHex(b!.body)).toBe(toHex(noise.subarray(0, 2000)));
    expect(whole.length).toBe(text.length);
    expect(toHex(whole)).toBe(toHex(text));
    expect(toHex(part)).toBe(toHex(text));
    expect(pooled.length).toBe(2000);
  });

  it('count: KLOSET_CRYPTO_WORKERS when valid, else one per core beyond the first (1 to 4)', () => {
    process.env.KLOSET_CRYPTO_WORKERS = '0';
    expect(cryptoWorkerCount()).toBe(0);
    process.env.KLOSET_CRYPTO_WORKERS = '3';
    expect(cryptoWorkerCount()).toBe(3);
    process.env.KLOSET_CRYPTO_WORKERS = 'many';
    const n = cryptoWorkerCount();
    expect(n >= 1 && n <= 4).toBe(true);
  });
});

describe('a repository starts its crypto workers', () => {
  it('for coalesced reads only, not for single blob reads', async () => {
    const dir = tempDir();
    const shared = vi.spyOn(CryptoPool, 'shared');
    try {
      const { repo } = await createTestRepository(dir.path);
      const a = pseudoRandom(3, 100_000);
      const b = pseudoRandom(4, 100_000);
      const ids = [(await repo.putBlob(BlobKind.Chunk, a)).id, (await repo.putBlob(BlobKind.Chunk, b)).id];
      await repo.flush();
      shared.mockClear();
      expect(await repo.getBlob(BlobKind.Chunk, ids[0]!)).toEqual(a);
      expect(shared, 'CryptoPool.shared() after a single read').not.toHaveBeenCalled();
      const got = [];
      for await (const r of repo.getBlobs(BlobKind.Chunk, ids)) got.push(r.ok);
      expect(got).toEqual([true, true]);
      expect(shared, 'CryptoPool.shared() after a coalesced read').toHaveBeenCalled();
      await repo.close();
    } finally {
      shared.mockRestore();
      dir.cleanup();
    }
  });
});
