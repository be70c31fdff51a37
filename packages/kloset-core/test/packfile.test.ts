import { MemoryStorage } from '@kloset/connector-contract/testing';
import { describe, expect, it } from 'vitest';
import { compressIfPays } from '../src/crypto/compression.ts';
import { blobId } from '../src/crypto/key-ring.ts';
import { SEAL_OVERHEAD } from '../src/crypto/seal.ts';
import { concatBytes, toHex } from '../src/encoding/bytes.ts';
import { decodeFooter, encodeFooter, FOOTER_SEALED_LENGTH } from '../src/packfile/footer.ts';
import { decodePackIndex, encodedEntrySize, encodePackIndex } from '../src/packfile/index-codec.ts';
import { openBlobAt, packfileKey, parseFooter, readPackIndex } from '../src/packfile/reader.ts';
import { MAX_BLOBS, PackfileWriter } from '../src/packfile/writer.ts';
import { BlobKind } from '../src/repository/blob-store.ts';
import { CorruptBlobError, CorruptPackfileError } from '../src/repository/errors.ts';
import { pseudoRandom, testKeys } from './repository-helpers.ts';

async function bodyBytes(body: { open(): AsyncIterable<Uint8Array> }): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const p of body.open()) parts.push(p);
  return concatBytes(...parts);
}

async function buildPackfile(blobs: Uint8Array[], targetSize = 1 << 20, plaintext = false) {
  const keys = await testKeys(plaintext);
  const writer = new PackfileWriter({
    ...keys,
    id: keys.provider.randomBytes(32),
    targetSize,
    compression: 'zstd',
  });
  const entries = blobs.map((data) => {
    const id = blobId(keys.provider, keys.keyRing, data);
    return writer.add(BlobKind.Chunk, id, compressIfPays(data, 'zstd'), data.length);
  });
  const finished = writer.finish();
  return { keys, writer, entries, finished, bytes: await bodyBytes(finished.body) };
}

describe('packfile codecs', () => {
  it('round-trips the footer and checks it against the packfile size', () => {
    const f = { indexOffset: 5_000_000_000, indexLength: 1234, blobCount: 7 };
    const plain = encodeFooter(f);
    expect(plain.length).toBe(16);
    expect(decodeFooter(plain)).toEqual(f);
    expect(decodeFooter(plain, 5_000_000_000 + 1234 + FOOTER_SEALED_LENGTH)).toEqual(f);
    expect(() => decodeFooter(plain, 10)).toThrow(/does not end at the footer/);
    expect(() => decodeFooter(plain.subarray(0, 15))).toThrow(/expected 16 bytes/);
  });

  it('round-trips the index and computes exact entry sizes', () => {
    const entries = [
      { kind: BlobKind.Chunk, id: pseudoRandom(1, 32), offset: 0, length: 17, rawLength: 0 },
      { kind: BlobKind.Tree, id: pseudoRandom(2, 32), offset: 17, length: 70_000, rawLength: 5_000_000_000 },
    ];
    const bytes = encodePackIndex(entries);
    expect(decodePackIndex(bytes)).toEqual(entries.map((e) => ({ ...e, id: expect.any(Uint8Array) })));
    const headerSize = 1;
    expect(bytes.length).toBe(headerSize + encodedEntrySize(entries[0]!) + encodedEntrySize(entries[1]!));
  });

  it('rejects malformed index entries', () => {
    expect(() => decodePackIndex(encodePackIndex([]).subarray(0, 0))).toThrow();
    const bad = encodePackIndex([
      { kind: BlobKind.Chunk, id: new Uint8Array(32), offset: 0, length: 1, rawLength: 1 },
    ]);
    bad[2] = 9; // kind 9
    expect(() => decodePackIndex(bad)).toThrow(/unknown blob kind 9/);
  });
});

describe('PackfileWriter and readers', () => {
  it('writes blobs, index and footer; reads the index from the tail and opens every blob', async () => {
    const blobs = [
      pseudoRandom(1, 1000),
      new Uint8Array(5000).fill(7),
      new Uint8Array(0),
      pseudoRandom(2, 70_000),
    ];
    const { keys, entries, finished, bytes } = await buildPackfile(blobs);
    expect(bytes.length).toBe(finished.size);
    // Blobs are contiguous from 0; the compressible one was compressed.
    expect(entries.map((e) => e.offset)).toEqual([
      0,
      entries[0]!.length,
      entries[0]!.length + entries[1]!.length,
      entries[0]!.length + entries[1]!.length + entries[2]!.length,
    ]);
    expect(entries[1]!.length).toBeLessThan(5000);
    expect(entries[2]!.length).toBe(SEAL_OVERHEAD);

    const storage = new MemoryStorage();
    await storage.put('packfile', toHex(finished.id), bytes);
    const index = await readPackIndex(storage, keys, finished.id, bytes.length);
    expect(index.map((e) => toHex(e.id))).toEqual(entries.map((e) => toHex(e.id)));

    const key = packfileKey(keys, finished.id);
    for (const [i, e] of index.entries()) {
      const loc = { ...e, packfile: finished.id };
      const data = await openBlobAt(keys, key, loc, bytes.subarray(e.offset, e.offset + e.length));
      expect(toHex(data)).toBe(toHex(blobs[i]!));
    }
  });

  it('reads an index larger than the tail read with a second read', async () => {
    const blobs = Array.from({ length: 1500 }, (_, i) => pseudoRandom(i + 10, 40));
    const { keys, finished, bytes } = await buildPackfile(blobs, 1 << 22);
    const storage = new MemoryStorage();
    await storage.put('packfile', toHex(finished.id), bytes);
    const index = await readPackIndex(storage, keys, finished.id, bytes.length);
    expect(index).toHaveLength(1500);
  });

  it('works the same for a plaintext store', async () => {
    const blobs = [pseudoRandom(3, 300), pseudoRandom(4, 400)];
    const { keys, finished, bytes } = await buildPackfile(blobs, 1 << 20, true);
    const storage = new MemoryStorage();
    await storage.put('packfile', toHex(finished.id), bytes);
    expect(await readPackIndex(storage, keys, finished.id, bytes.length)).toHaveLength(2);
    // The plaintext is visible in a plaintext store (no confidentiality claim) ...
    expect(Buffer.from(bytes).includes(Buffer.from(blobs[0]!))).toBe(true);
    // ... but integrity still holds: a flipped byte is caught.
    const e = (await readPackIndex(storage, keys, finished.id, bytes.length))[0]!;
    const sealed = bytes.slice(e.offset, e.offset + e.length);
    sealed[5]! ^= 1;
    await expect(
      openBlobAt(keys, packfileKey(keys, finished.id), { ...e, packfile: finished.id }, sealed),
    ).rejects.toThrow(CorruptBlobError);
  });

  it('detects a flipped byte in a blob, naming blob and packfile', async () => {
    const blobs = [pseudoRandom(5, 2000)];
    const { keys, entries, finished, bytes } = await buildPackfile(blobs);
    const e = entries[0]!;
    const sealed = bytes.slice(e.offset, e.offset + e.length);
    sealed[100]! ^= 0x40;
    const err = await openBlobAt(
      keys,
      packfileKey(keys, finished.id),
      { ...e, packfile: finished.id },
      sealed,
    ).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(CorruptBlobError);
    expect((err as CorruptBlobError).message).toContain(toHex(e.id));
    expect((err as CorruptBlobError).message).toContain(toHex(finished.id));
  });

  it('refuses a blob opened at another offset or under another id (bound by nonce and aad)', async () => {
    const blobs = [pseudoRandom(6, 100), pseudoRandom(7, 100)];
    const { keys, entries, finished, bytes } = await buildPackfile(blobs);
    const [a, b] = [entries[0]!, entries[1]!];
    const key = packfileKey(keys, finished.id);
    const sealedB = bytes.slice(b.offset, b.offset + b.length);
    // b's bytes presented as a's (same length): fails authentication.
    await expect(openBlobAt(keys, key, { ...a, packfile: finished.id }, sealedB)).rejects.toThrow(
      CorruptBlobError,
    );
  });

  it('detects a corrupt footer and a truncated packfile', async () => {
    const { keys, finished, bytes } = await buildPackfile([pseudoRandom(8, 500)]);
    const key = packfileKey(keys, finished.id);
    const tail = bytes.slice(bytes.length - FOOTER_SEALED_LENGTH);
    expect(parseFooter(keys, key, tail, bytes.length).blobCount).toBe(1);
    tail[3]! ^= 1;
    expect(() => parseFooter(keys, key, tail, bytes.length)).toThrow(CorruptPackfileError);
    const storage = new MemoryStorage();
    await storage.put('packfile', toHex(finished.id), bytes.subarray(1));
    await expect(readPackIndex(storage, keys, finished.id, bytes.length - 1)).rejects.toThrow(
      CorruptPackfileError,
    );
  });

  it('respects the target size: fits() refuses blobs that would go past it', async () => {
    const keys = await testKeys();
    const target = 64 * 1024;
    const writer = new PackfileWriter({
      ...keys,
      id: keys.provider.randomBytes(32),
      targetSize: target,
      compression: 'zstd',
    });
    let i = 0;
    for (;;) {
      const data = pseudoRandom(100 + i++, 3000);
      const encoded = compressIfPays(data, 'zstd');
      if (!writer.fits(encoded.body.length + SEAL_OVERHEAD, data.length)) break;
      writer.add(BlobKind.Chunk, blobId(keys.provider, keys.keyRing, data), encoded, data.length);
    }
    const finished = writer.finish();
    expect(finished.size).toBeLessThanOrEqual(target);
    expect(finished.size).toBeGreaterThan(target - 3200);
  });

  it('serves sealed bytes of appended blobs from memory', async () => {
    const { writer, entries, bytes } = await buildPackfile([pseudoRandom(9, 10), pseudoRandom(10, 20)]);
    const e = entries[1]!;
    expect(writer.sealedAt(e.offset, e.length)).toEqual(bytes.subarray(e.offset, e.offset + e.length));
    expect(writer.sealedAt(e.offset + 1, e.length)).toBeUndefined();
  });

  it('serves and writes blobs of every size across its 1 MiB slabs, before and after finish', async () => {
    // Small blobs fill slabs (several slabs), large ones (over 16 KiB sealed) are parts of their
    // own between them, and a small one follows a large one.
    const sizes = [
      100,
      30_000,
      ...Array.from({ length: 600 }, (_, i) => 3000 + i),
      200_000,
      50,
      16_000,
      17_000,
    ];
    const blobs = sizes.map((n, i) => pseudoRandom(100 + i, n));
    const keys = await testKeys(false);
    const writer = new PackfileWriter({
      ...keys,
      id: keys.provider.randomBytes(32),
      targetSize: 64 << 20,
      compression: 'none',
    });
    const entries = blobs.map((data) =>
      writer.add(
        BlobKind.Chunk,
        blobId(keys.provider, keys.keyRing, data),
        compressIfPays(data, 'none'),
        data.length,
      ),
    );
    const served = entries.map((e) => writer.sealedAt(e.offset, e.length));
    const finished = writer.finish();
    const key = packfileKey(keys, finished.id);
    const bytes = await bodyBytes(finished.body);
    expect(bytes.length).toBe(finished.size);
    expect(entries.at(-1)!.offset + entries.at(-1)!.length).toBeGreaterThan(2 << 20);
    for (const [i, e] of entries.entries()) {
      const expected = bytes.subarray(e.offset, e.offset + e.length);
      expect(Buffer.from(served[i]!).equals(expected)).toBe(true);
      expect(Buffer.from(writer.sealedAt(e.offset, e.length)!).equals(expected)).toBe(true);
      const data = await openBlobAt(keys, key, { ...e, packfile: finished.id }, expected);
      expect(Buffer.from(data).equals(Buffer.from(blobs[i]!))).toBe(true);
    }
  });

  it('takes at most MAX_BLOBS blobs, whatever room is left', async () => {
    const keys = await testKeys(true);
    const writer = new PackfileWriter({
      ...keys,
      id: keys.provider.randomBytes(32),
      targetSize: 1 << 30,
      compression: 'none',
    });
    const one = compressIfPays(new Uint8Array(1), 'none');
    for (let i = 0; i < MAX_BLOBS; i++) {
      expect(writer.fits(SEAL_OVERHEAD + 2, 1)).toBe(true);
      writer.add(BlobKind.Chunk, blobId(keys.provider, keys.keyRing, Uint8Array.of(i & 255, i >> 8)), one, 1);
    }
    expect(writer.fits(SEAL_OVERHEAD + 2, 1)).toBe(false);
    expect(writer.finish().entries.length).toBe(MAX_BLOBS);
  });
});
