/**
 * FORMAT.md §11: every vector checked against both crypto providers.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  type ChunkingParams,
  chunkBuffer,
  chunkStream,
  highBitsMask,
  makeChunker,
} from '../../src/chunking/fastcdc.ts';
import { CorruptDataError } from '../../src/crypto/errors.ts';
import { deriveKek } from '../../src/crypto/kdf.ts';
import { blobId, deriveKeyRing, type KeyRing } from '../../src/crypto/key-ring.ts';
import { unwrapKey, wrappedKeyAad } from '../../src/crypto/master-key.ts';
import { nobleCryptoProvider } from '../../src/crypto/noble-provider.ts';
import { nodeCryptoProvider } from '../../src/crypto/node-provider.ts';
import type { CryptoProvider } from '../../src/crypto/provider.ts';
import {
  blobAad,
  deriveObjectKey,
  makeNonce,
  type ObjectKey,
  openPayload,
  openPayloadAsync,
  openResource,
  type SealedResourceKind,
  type SealTarget,
  sealEncoded,
} from '../../src/crypto/seal.ts';
import { concatBytes, fromHex, toHex, utf8 } from '../../src/encoding/bytes.ts';
import { decodeStoreConfig, encodeStoreConfig, openStoreConfig } from '../../src/format/config.ts';
import { xorshift32Bytes } from './prng.ts';
import type {
  Argon2Vectors,
  BlobIdVectors,
  ChunkingVectors,
  ConfigVectors,
  KeyVectors,
  SealCase,
  SealVectors,
} from './vector-types.ts';

const here = dirname(fileURLToPath(import.meta.url));
const load = <T>(name: string): T => JSON.parse(readFileSync(join(here, name), 'utf8')) as T;
const keys = load<KeyVectors>('keys.json');
const argon = load<Argon2Vectors>('argon2id.json');
const blobs = load<BlobIdVectors>('blob-ids.json');
const seal = load<SealVectors>('seal.json');
const chunking = load<ChunkingVectors>('chunking.json');
const configs = load<ConfigVectors>('config.json');

const providers: CryptoProvider[] = [nodeCryptoProvider, nobleCryptoProvider];

function target(c: SealCase): SealTarget {
  const objectKey: ObjectKey = {
    salt: fromHex(c.object_salt),
    key: fromHex(c.object_key),
    plaintext: c.plaintext_store,
  };
  return { objectKey, nonce: fromHex(c.nonce), aad: fromHex(c.aad) };
}

describe.each(providers)('test vectors with $name', (provider) => {
  const ring: KeyRing = deriveKeyRing(provider, fromHex(keys.master_key), fromHex(keys.store_id));

  it('Argon2id (small parameters)', async () => {
    for (const c of argon.cases.filter((c) => c.memory_kib < 65536)) {
      const out = await provider.argon2id(utf8(c.passphrase), fromHex(c.salt), {
        memoryKiB: c.memory_kib,
        passes: c.passes,
        parallelism: c.parallelism,
        tagLength: c.tag_length,
      });
      expect(toHex(out), c.passphrase).toBe(c.output);
    }
  });

  it('Argon2id at the default cost (64 MiB, 3 passes)', async () => {
    const c = argon.cases.find((c) => c.memory_kib === 65536)!;
    const out = await provider.argon2id(utf8(c.passphrase), fromHex(c.salt), {
      memoryKiB: c.memory_kib,
      passes: c.passes,
      parallelism: c.parallelism,
      tagLength: c.tag_length,
    });
    expect(toHex(out)).toBe(c.output);
  });

  it('HKDF subkeys and the gear table', () => {
    expect(toHex(ring.macKey)).toBe(keys.mac_key);
    expect(toHex(ring.encKey)).toBe(keys.enc_key);
    const gearKey = provider.hkdfSha256(
      fromHex(keys.master_key),
      fromHex(keys.store_id),
      utf8('kloset/v1/chunker-gear'),
      1024,
    );
    expect(toHex(gearKey)).toBe(keys.gear_key);
    expect(Array.from(ring.gear.subarray(0, 8))).toEqual(keys.gear_first_8);
    expect(ring.gear[255]).toBe(keys.gear_last);
    expect(toHex(new Uint8Array(ring.gear.buffer))).toBe(keys.gear_key); // u32le on this (little-endian) machine
  });

  it('wrapped master key', async () => {
    const w = keys.wrap;
    const kek = await deriveKek(provider, w.passphrase, {
      algorithm: 'argon2id',
      version: 19,
      salt: fromHex(w.kdf.salt),
      memoryKiB: w.kdf.memory_kib,
      passes: w.kdf.passes,
      parallelism: w.kdf.parallelism,
    });
    expect(toHex(kek)).toBe(w.kek);
    const storeId = fromHex(keys.store_id);
    expect(toHex(wrappedKeyAad(storeId))).toBe(w.aad);
    const sealed = provider.aesGcmSeal(
      kek,
      fromHex(w.nonce),
      fromHex(keys.master_key),
      wrappedKeyAad(storeId),
    );
    expect(toHex(concatBytes(fromHex(w.nonce), sealed))).toBe(w.wrapped_key);
    expect(toHex(unwrapKey(provider, kek, fromHex(w.wrapped_key), storeId))).toBe(keys.master_key);
  });

  it('blob ids', () => {
    for (const c of blobs.cases) expect(toHex(blobId(provider, ring, fromHex(c.data)))).toBe(c.id);
  });

  it('object keys, nonces and sealed payloads', async () => {
    for (const c of seal.cases) {
      const r = c.plaintext_store ? { ...ring, plaintext: true } : ring;
      expect(toHex(deriveObjectKey(provider, r, fromHex(c.object_salt)).key), c.name).toBe(c.object_key);
      const t = target(c);
      expect(toHex(sealEncoded(provider, t, c.codec, fromHex(c.body))), c.name).toBe(c.sealed);
      expect(toHex(openPayload(provider, t, fromHex(c.sealed), c.name)), c.name).toBe(c.plaintext);
      expect(toHex(await openPayloadAsync(provider, t, fromHex(c.sealed), c.name)), c.name).toBe(c.plaintext);
    }
    expect(toHex(makeNonce(0, 2 ** 40 + 5))).toBe('000000000000010000000005');
    expect(toHex(blobAad(1, new Uint8Array(32)))).toBe(
      `${toHex(utf8('kloset/v1/blob'))}01${'00'.repeat(32)}`,
    );
  });

  it('refuses every failure vector', () => {
    expect(seal.failures.length).toBe(12);
    for (const c of seal.failures) {
      expect(() => openPayload(provider, target(c), fromHex(c.sealed), `vector ${c.name}`), c.name).toThrow(
        CorruptDataError,
      );
    }
  });

  it('whole resources', async () => {
    for (const c of seal.resources) {
      const r = c.plaintext_store ? { ...ring, plaintext: true } : ring;
      const kind: SealedResourceKind = c.kind;
      const body = await openResource(provider, r, kind, fromHex(c.resource_id), fromHex(c.bytes));
      expect(toHex(body)).toBe(c.body);
      const other: SealedResourceKind = kind === 'lock' ? 'state' : 'lock';
      await expect(
        openResource(provider, r, other, fromHex(c.resource_id), fromHex(c.bytes)),
      ).rejects.toThrow(CorruptDataError);
    }
  });

  it('store configs', async () => {
    for (const c of configs.cases) {
      const bytes = fromHex(c.bytes);
      const { config, keyRing } = await openStoreConfig(bytes, c.passphrase ?? undefined, provider);
      expect(toHex(config.storeId)).toBe(c.store_id);
      expect(toHex(keyRing.macKey)).toBe(c.mac_key);
      expect(toHex(keyRing.encKey)).toBe(c.enc_key);
      expect(keyRing.plaintext).toBe(c.passphrase === null);
      expect(config.created).toBe(c.created);
      expect(config.chunking).toEqual(c.chunking);
      expect(config.packfileSize).toBe(c.packfile_size);
      expect(config.compression).toBe(c.compression);
      const { masterKey } = decodeStoreConfig(bytes);
      expect(toHex(encodeStoreConfig(config, masterKey ?? null))).toBe(c.bytes);
    }
  });

  it('gear table of the chunking vectors', () => {
    expect(chunking.master_key).toBe(keys.master_key);
    expect(chunking.store_id).toBe(keys.store_id);
  });
});

describe('chunking vectors', () => {
  const ring = deriveKeyRing(nodeCryptoProvider, fromHex(chunking.master_key), fromHex(chunking.store_id));
  const input = xorshift32Bytes(chunking.input.seed, chunking.input.length);

  it('the PRNG input', () => {
    expect(createHash('sha256').update(input).digest('hex')).toBe(chunking.input.sha256);
  });

  it.each(chunking.cases.map((c) => ({ name: JSON.stringify(c.params), c })))(
    'boundaries for $name',
    async ({ c }) => {
      const params: ChunkingParams = { algorithm: 'fastcdc-v1', ...c.params };
      const bits = Math.log2(params.avg);
      expect(
        highBitsMask(bits + params.normalization)
          .toString(16)
          .padStart(8, '0'),
      ).toBe(c.mask_s);
      expect(
        highBitsMask(bits - params.normalization)
          .toString(16)
          .padStart(8, '0'),
      ).toBe(c.mask_l);
      const lengths = Array.from(chunkBuffer(input, makeChunker(params, ring.gear)), (x) => x.length);
      expect(lengths.length).toBe(c.count);
      if (c.lengths) expect(lengths).toEqual(c.lengths);
      expect(createHash('sha256').update(JSON.stringify(lengths)).digest('hex')).toBe(c.lengths_sha256);
      // The streaming chunker agrees, whatever the input piece sizes.
      async function* pieces() {
        let at = 0;
        let n = 1;
        while (at < input.length) {
          const size = (n * 7919) % 100_003;
          yield input.subarray(at, at + size);
          at += size;
          n++;
        }
      }
      const streamed: number[] = [];
      for await (const chunk of chunkStream(pieces(), params, ring.gear)) streamed.push(chunk.length);
      expect(streamed).toEqual(lengths);
    },
  );
});
