/**
 * FORMAT.md §11: a packfile test vector. A fixed master key, store id and packfile id; blobs given
 * as (kind, plaintext, compression byte, encoded body) so that no zstd version is involved; the
 * exact packfile bytes. Both crypto providers must write exactly these bytes and read them back.
 * Regenerate with KLOSET_UPDATE_VECTORS=1 (and review the diff: it is a format change).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryStorage } from '@kloset/connector-contract/testing';
import { describe, expect, it } from 'vitest';
import type { CompressionCodec } from '../src/crypto/compression.ts';
import { blobId, deriveKeyRing } from '../src/crypto/key-ring.ts';
import { nobleCryptoProvider } from '../src/crypto/noble-provider.ts';
import { nodeCryptoProvider } from '../src/crypto/node-provider.ts';
import type { CryptoProvider } from '../src/crypto/provider.ts';
import { concatBytes, toHex } from '../src/encoding/bytes.ts';
import { openBlobAt, packfileKey, readPackIndex } from '../src/packfile/reader.ts';
import { PackfileWriter } from '../src/packfile/writer.ts';
import type { BlobKind } from '../src/repository/blob-store.ts';

interface PackfileVector {
  readonly description: string;
  readonly master_key: string;
  readonly store_id: string;
  readonly packfile_id: string;
  readonly blobs: readonly {
    readonly kind: number;
    readonly plaintext: string;
    readonly compression: number;
    readonly encoded_body: string;
    readonly id: string;
    readonly offset: number;
    readonly length: number;
  }[];
  readonly packfile: string;
}

const here = dirname(fileURLToPath(import.meta.url));
const vectorPath = join(here, 'packfile-vector.json');
const fromHex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));
const utf8 = (s: string) => new TextEncoder().encode(s);

/** The inputs of the vector (everything but the outputs). */
function inputs() {
  const zstdHello = fromHex('28b52ffd205b7500003868656c6c6f2c200100a1a91801');
  const blobs: { kind: BlobKind; plaintext: Uint8Array; compression: CompressionCodec; body: Uint8Array }[] =
    [
      { kind: 1, plaintext: new Uint8Array(0), compression: 0, body: new Uint8Array(0) },
      {
        kind: 1,
        plaintext: utf8('kloset packfile vector'),
        compression: 0,
        body: utf8('kloset packfile vector'),
      },
      {
        kind: 2,
        plaintext: utf8('hello, '.repeat(13)),
        compression: 1,
        body: zstdHello,
      },
    ];
  return {
    masterKey: fromHex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f'),
    storeId: fromHex('a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf'),
    packfileId: fromHex('5a'.repeat(32)),
    blobs,
  };
}

async function write(provider: CryptoProvider): Promise<PackfileVector> {
  const inp = inputs();
  const keyRing = deriveKeyRing(provider, inp.masterKey, inp.storeId);
  const writer = new PackfileWriter({
    provider,
    keyRing,
    id: inp.packfileId,
    targetSize: 1 << 20,
    compression: 'none',
  });
  const blobs = inp.blobs.map((b) => {
    const id = blobId(provider, keyRing, b.plaintext);
    const e = writer.add(b.kind, id, { codec: b.compression, body: b.body }, b.plaintext.length);
    return {
      kind: b.kind,
      plaintext: toHex(b.plaintext),
      compression: b.compression,
      encoded_body: toHex(b.body),
      id: toHex(id),
      offset: e.offset,
      length: e.length,
    };
  });
  const parts: Uint8Array[] = [];
  for await (const p of writer.finish().body.open()) parts.push(p);
  return {
    description:
      'FORMAT.md §5: packfile of 3 blobs (chunk, chunk, zstd tree node), index sealed uncompressed; ' +
      'keys from master_key and store_id as §3.2, packfile key as §4.2 with salt packfile_id',
    master_key: toHex(inp.masterKey),
    store_id: toHex(inp.storeId),
    packfile_id: toHex(inp.packfileId),
    blobs,
    packfile: toHex(concatBytes(...parts)),
  };
}

describe('packfile test vector (FORMAT.md §11)', () => {
  it('the zstd body of the vector decodes to its plaintext', async () => {
    const { zstdDecompressSync } = await import('node:zlib');
    const b = inputs().blobs[2]!;
    expect(new Uint8Array(zstdDecompressSync(b.body))).toEqual(b.plaintext);
  });

  for (const provider of [nodeCryptoProvider, nobleCryptoProvider]) {
    it(`${provider.name} writes exactly the vector's bytes and reads them back`, async () => {
      const written = await write(provider);
      if (process.env.KLOSET_UPDATE_VECTORS === '1' && provider === nodeCryptoProvider) {
        writeFileSync(vectorPath, `${JSON.stringify(written, null, 2)}\n`);
      }
      const vector = JSON.parse(readFileSync(vectorPath, 'utf8')) as PackfileVector;
      expect(written).toEqual(vector);

      const keyRing = deriveKeyRing(provider, fromHex(vector.master_key), fromHex(vector.store_id));
      const packId = fromHex(vector.packfile_id);
      const bytes = fromHex(vector.packfile);
      const storage = new MemoryStorage();
      await storage.put('packfile', vector.packfile_id, bytes);
      const ctx = { provider, keyRing };
      const index = await readPackIndex(storage, ctx, packId, bytes.length);
      expect(index.map((e) => [e.kind, toHex(e.id), e.offset, e.length])).toEqual(
        vector.blobs.map((b) => [b.kind, b.id, b.offset, b.length]),
      );
      for (const [i, e] of index.entries()) {
        const data = await openBlobAt(
          ctx,
          packfileKey(ctx, packId),
          { ...e, packfile: packId },
          bytes.subarray(e.offset, e.offset + e.length),
        );
        expect(toHex(data)).toBe(vector.blobs[i]!.plaintext);
      }
    });
  }
});
