/**
 * Generates the test vectors of FORMAT.md §11 into this directory. Run once, from
 * packages/kloset-core: `node test/vectors/generate.ts`. The JSON files are committed; tests check
 * them against both crypto providers and must not be "fixed" by regenerating unless the format
 * changes on purpose.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ChunkingParams, chunkBuffer, highBitsMask, makeChunker } from '../../src/chunking/fastcdc.ts';
import { CompressionCodec, compressIfPays } from '../../src/crypto/compression.ts';
import { deriveKek, type KdfParams } from '../../src/crypto/kdf.ts';
import { blobId, deriveKeyRing, type KeyRing } from '../../src/crypto/key-ring.ts';
import { wrappedKeyAad } from '../../src/crypto/master-key.ts';
import { nodeCryptoProvider as node } from '../../src/crypto/node-provider.ts';
import type { CryptoProvider } from '../../src/crypto/provider.ts';
import {
  blobAad,
  deriveObjectKey,
  makeNonce,
  NonceDomain,
  packFooterAad,
  packIndexAad,
  resourceBodyAad,
  type SealedResourceKind,
  type SealTarget,
  sealEncoded,
} from '../../src/crypto/seal.ts';
import { concatBytes, toHex, utf8 } from '../../src/encoding/bytes.ts';
import { createStoreConfig } from '../../src/format/config.ts';
import { VECTOR_PRNG_SEED, xorshift32Bytes } from './prng.ts';

const here = dirname(fileURLToPath(import.meta.url));
const hex = toHex;
const seq = (start: number, length: number) => Uint8Array.from({ length }, (_, i) => (start + i) & 0xff);

/** Fixed keys shared by most vectors. */
export const MASTER_KEY = seq(0x00, 32);
export const STORE_ID = seq(0x80, 32);

function write(name: string, value: unknown): void {
  // Arrays of numbers go on one line.
  const text = JSON.stringify(value, null, 2).replace(
    /\[\s+([-\d,\s]+?)\s+\]/g,
    (_, inner: string) => `[${inner.split(/,\s*/).join(', ')}]`,
  );
  writeFileSync(join(here, name), `${text}\n`);
  console.log(`wrote ${name}`);
}

/** A provider whose randomBytes is a fixed xorshift32 stream (for reproducible configs only). */
function deterministicProvider(seed: number): CryptoProvider {
  const stream = xorshift32Bytes(seed, 4096);
  let used = 0;
  return {
    ...node,
    name: 'deterministic',
    randomBytes(length) {
      const out = stream.slice(used, used + length);
      used += length;
      return out;
    },
  };
}

async function argon2Vectors(): Promise<void> {
  const cases = [
    { passphrase: 'password', salt: seq(0x10, 16), memory_kib: 64, passes: 1, parallelism: 1 },
    {
      passphrase: 'correct horse battery staple',
      salt: seq(0x20, 16),
      memory_kib: 256,
      passes: 2,
      parallelism: 1,
    },
    { passphrase: 'pässwörd ✓ 鍵', salt: seq(0x30, 8), memory_kib: 512, passes: 3, parallelism: 2 },
    { passphrase: 'kloset defaults', salt: seq(0x40, 16), memory_kib: 65536, passes: 3, parallelism: 1 },
  ];
  const out = [];
  for (const c of cases) {
    const params: KdfParams = {
      algorithm: 'argon2id',
      version: 19,
      salt: c.salt,
      memoryKiB: c.memory_kib,
      passes: c.passes,
      parallelism: c.parallelism,
    };
    const kek = await deriveKek(node, c.passphrase, params);
    out.push({ ...c, salt: hex(c.salt), tag_length: 32, output: hex(kek) });
  }
  write('argon2id.json', {
    description:
      'Argon2id v19 (0x13), password = UTF-8 of passphrase (no normalization), taglen 32. The last case uses the defaults (64 MiB, 3 passes, 1 lane).',
    cases: out,
  });
}

async function keyVectors(): Promise<KeyRing> {
  const ring = deriveKeyRing(node, MASTER_KEY, STORE_ID);
  const gearKey = node.hkdfSha256(MASTER_KEY, STORE_ID, utf8('kloset/v1/chunker-gear'), 1024);
  const kdf: KdfParams = {
    algorithm: 'argon2id',
    version: 19,
    salt: seq(0x50, 16),
    memoryKiB: 64,
    passes: 1,
    parallelism: 1,
  };
  const passphrase = 'kloset test passphrase';
  const kek = await deriveKek(node, passphrase, kdf);
  const nonce = seq(0x60, 12);
  const wrapped = concatBytes(nonce, node.aesGcmSeal(kek, nonce, MASTER_KEY, wrappedKeyAad(STORE_ID)));
  write('keys.json', {
    description: 'HKDF-SHA-256 subkeys (salt = store_id) and the wrapped master key (FORMAT.md §3).',
    master_key: hex(MASTER_KEY),
    store_id: hex(STORE_ID),
    mac_key: hex(ring.macKey),
    enc_key: hex(ring.encKey),
    gear_key: hex(gearKey),
    gear_first_8: Array.from(ring.gear.subarray(0, 8)),
    gear_last: ring.gear[255],
    wrap: {
      passphrase,
      kdf: {
        salt: hex(kdf.salt),
        memory_kib: kdf.memoryKiB,
        passes: kdf.passes,
        parallelism: kdf.parallelism,
      },
      kek: hex(kek),
      aad: hex(wrappedKeyAad(STORE_ID)),
      nonce: hex(nonce),
      wrapped_key: hex(wrapped),
    },
  });
  return ring;
}

function blobVectors(ring: KeyRing): void {
  const inputs = [new Uint8Array(0), utf8('kloset'), xorshift32Bytes(1, 1000 * 4)];
  write('blob-ids.json', {
    description: 'Blob ids: HMAC-SHA-256(K_mac, plaintext), keys from keys.json.',
    cases: inputs.map((data) => ({ data: hex(data), id: hex(blobId(node, ring, data)) })),
  });
}

interface SealCase {
  name: string;
  plaintext_store: boolean;
  object_salt: string;
  object_key: string;
  nonce: string;
  aad: string;
  codec: number;
  body: string;
  plaintext: string;
  sealed: string;
}

function sealVectors(ring: KeyRing): void {
  const plainRing: KeyRing = { ...ring, plaintext: true };
  const packId = seq(0xa0, 32);
  const resourceId = seq(0xc0, 32);
  const resourceSalt = seq(0xe0, 32);
  const chunk = utf8('the quick brown fox jumps over the lazy dog. '.repeat(20));
  const chunkId = blobId(node, ring, chunk);
  const random = xorshift32Bytes(7, 256);
  const randomId = blobId(node, ring, random);
  const footer = concatBytes(
    new Uint8Array([0, 0, 0, 0, 0, 0, 0x10, 0]),
    new Uint8Array([0, 0, 0, 0x40, 0, 0, 0, 2]),
  );
  const specs: Array<{
    name: string;
    salt: Uint8Array;
    domain: NonceDomain;
    counter: number;
    aad: Uint8Array;
    data: Uint8Array;
    compress: boolean;
  }> = [
    {
      name: 'blob (chunk, zstd) at offset 0',
      salt: packId,
      domain: NonceDomain.Blob,
      counter: 0,
      aad: blobAad(1, chunkId),
      data: chunk,
      compress: true,
    },
    {
      name: 'blob (tree, uncompressed) at offset 1234567',
      salt: packId,
      domain: NonceDomain.Blob,
      counter: 1234567,
      aad: blobAad(2, randomId),
      data: random,
      compress: false,
    },
    {
      name: 'pack index',
      salt: packId,
      domain: NonceDomain.PackIndex,
      counter: 0,
      aad: packIndexAad(packId),
      data: utf8('not really an index'),
      compress: false,
    },
    {
      name: 'pack footer',
      salt: packId,
      domain: NonceDomain.PackFooter,
      counter: 0,
      aad: packFooterAad(packId),
      data: footer,
      compress: false,
    },
    {
      name: 'snapshot body',
      salt: resourceSalt,
      domain: NonceDomain.ResourceBody,
      counter: 0,
      aad: resourceBodyAad('snapshot', resourceId),
      data: utf8('{"not":"msgpack, but any bytes"}'),
      compress: false,
    },
    {
      name: 'empty payload',
      salt: packId,
      domain: NonceDomain.Blob,
      counter: 2 ** 40 + 5,
      aad: blobAad(1, blobId(node, ring, new Uint8Array(0))),
      data: new Uint8Array(0),
      compress: false,
    },
  ];
  const cases: SealCase[] = [];
  for (const r of [ring, plainRing]) {
    for (const s of specs) {
      const objectKey = deriveObjectKey(node, r, s.salt);
      const target: SealTarget = { objectKey, nonce: makeNonce(s.domain, s.counter), aad: s.aad };
      const { codec, body } = s.compress
        ? compressIfPays(s.data, 'zstd')
        : { codec: CompressionCodec.None, body: s.data };
      if (s.compress && codec !== CompressionCodec.Zstd) throw new Error('expected compressible data');
      cases.push({
        name: `${r.plaintext ? 'plaintext store: ' : ''}${s.name}`,
        plaintext_store: r.plaintext,
        object_salt: hex(s.salt),
        object_key: hex(objectKey.key),
        nonce: hex(target.nonce),
        aad: hex(s.aad),
        codec,
        body: hex(body),
        plaintext: hex(s.data),
        sealed: hex(sealEncoded(node, target, codec, body)),
      });
    }
  }
  // Failures: each must be refused (GCM / MAC failure), by every implementation.
  const failures = [];
  for (const base of [cases[0]!, cases[specs.length]!]) {
    const sealed = Buffer.from(base.sealed, 'hex');
    const flipped = Buffer.from(sealed);
    flipped[5] = flipped[5]! ^ 0x01;
    const flippedTag = Buffer.from(sealed);
    flippedTag[flippedTag.length - 1] = flippedTag[flippedTag.length - 1]! ^ 0x80;
    const otherAad = blobAad(2, Buffer.from(base.aad, 'hex').subarray(-32)); // same id, kind 2 instead of 1
    const otherKey = deriveObjectKey(node, base.plaintext_store ? plainRing : ring, seq(0xa1, 32));
    const prefix = base.plaintext_store ? 'plaintext store: ' : '';
    failures.push(
      { ...base, name: `${prefix}flipped ciphertext byte`, sealed: hex(flipped) },
      { ...base, name: `${prefix}flipped tag bit`, sealed: hex(flippedTag) },
      { ...base, name: `${prefix}tampered aad (blob kind 2 for a kind 1 blob)`, aad: hex(otherAad) },
      { ...base, name: `${prefix}wrong object key (other packfile)`, object_key: hex(otherKey.key) },
      { ...base, name: `${prefix}wrong nonce (other offset)`, nonce: hex(makeNonce(NonceDomain.Blob, 1)) },
      { ...base, name: `${prefix}truncated`, sealed: hex(sealed.subarray(0, sealed.length - 1)) },
    );
  }
  // Resources: salt || sealed body.
  const resources = [];
  for (const r of [ring, plainRing]) {
    for (const kind of ['state', 'snapshot', 'lock'] as SealedResourceKind[]) {
      const body = utf8(`${kind} body `.repeat(30));
      const objectKey = deriveObjectKey(node, r, resourceSalt);
      const target: SealTarget = {
        objectKey,
        nonce: makeNonce(NonceDomain.ResourceBody, 0),
        aad: resourceBodyAad(kind, resourceId),
      };
      const encoded = compressIfPays(body, 'zstd');
      resources.push({
        plaintext_store: r.plaintext,
        kind,
        resource_id: hex(resourceId),
        body: hex(body),
        bytes: hex(concatBytes(resourceSalt, sealEncoded(node, target, encoded.codec, encoded.body))),
      });
    }
  }
  write('seal.json', {
    description:
      'Sealed payloads (FORMAT.md §4), keys from keys.json. `sealed` = seal(object_key, nonce, u8(codec) || body, aad); `body` is the compressed form when codec is 1, so sealing is reproducible; opening must give `plaintext`. `failures` must all be refused. `resources` are whole state/snapshot/lock resources (salt || sealed body).',
    cases,
    failures,
    resources,
  });
}

async function configVectors(): Promise<void> {
  const encrypted = await createStoreConfig(
    {
      passphrase: 'kloset test passphrase',
      kdf: { memoryKiB: 64, passes: 1, parallelism: 1 },
      allowWeakKdf: true,
      created: 1700000000,
    },
    deterministicProvider(0x1234),
  );
  const plain = await createStoreConfig(
    {
      plaintext: true,
      created: 1700000001,
      chunking: { min: 2048, avg: 8192, max: 65536, normalization: 1 },
      packfileSize: 1024 ** 3,
      compression: 'none',
    },
    deterministicProvider(0x5678),
  );
  const describe = (c: typeof encrypted, passphrase: string | null) => ({
    passphrase,
    bytes: hex(c.bytes),
    store_id: hex(c.config.storeId),
    mac_key: hex(c.keyRing.macKey),
    enc_key: hex(c.keyRing.encKey),
    created: c.config.created,
    chunking: c.config.chunking,
    packfile_size: c.config.packfileSize,
    compression: c.config.compression,
  });
  write('config.json', {
    description:
      'Store configs (FORMAT.md §2). Opening `bytes` (with `passphrase` if not null) must give these keys; re-encoding the decoded config must give `bytes` exactly.',
    cases: [
      { name: 'encrypted (weak test KDF)', ...describe(encrypted, 'kloset test passphrase') },
      { name: 'plaintext', ...describe(plain, null) },
    ],
  });
}

function chunkingVectors(ring: KeyRing): void {
  const length = 32 * 1024 * 1024;
  const input = xorshift32Bytes(VECTOR_PRNG_SEED, length);
  const paramSets: ChunkingParams[] = [
    { algorithm: 'fastcdc-v1', min: 512 * 1024, avg: 1024 * 1024, max: 8 * 1024 * 1024, normalization: 2 },
    { algorithm: 'fastcdc-v1', min: 2048, avg: 8192, max: 65536, normalization: 2 },
    { algorithm: 'fastcdc-v1', min: 4096, avg: 16384, max: 32768, normalization: 0 },
    { algorithm: 'fastcdc-v1', min: 64, avg: 256, max: 1024, normalization: 3 },
  ];
  const cases = paramSets.map((params) => {
    const bits = Math.log2(params.avg);
    const lengths = Array.from(chunkBuffer(input, makeChunker(params, ring.gear)), (c) => c.length);
    return {
      params: { min: params.min, avg: params.avg, max: params.max, normalization: params.normalization },
      mask_s: highBitsMask(bits + params.normalization)
        .toString(16)
        .padStart(8, '0'),
      mask_l: highBitsMask(bits - params.normalization)
        .toString(16)
        .padStart(8, '0'),
      count: lengths.length,
      lengths_sha256: createHash('sha256').update(JSON.stringify(lengths)).digest('hex'),
      lengths: lengths.length <= 5000 ? lengths : undefined,
    };
  });
  write('chunking.json', {
    description:
      'FastCDC chunk lengths (FORMAT.md §7) with the gear table of keys.json over `input` bytes of xorshift32 (test/vectors/prng.ts). lengths_sha256 is SHA-256 of the JSON text of the lengths array (no spaces); `lengths` is omitted when longer than 5000 entries.',
    input: {
      prng: 'xorshift32',
      seed: VECTOR_PRNG_SEED,
      length,
      sha256: createHash('sha256').update(input).digest('hex'),
    },
    master_key: hex(MASTER_KEY),
    store_id: hex(STORE_ID),
    cases,
  });
}

const ring = await keyVectors();
blobVectors(ring);
sealVectors(ring);
chunkingVectors(ring);
await configVectors();
await argon2Vectors();
