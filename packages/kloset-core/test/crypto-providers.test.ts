import { describe, expect, it } from 'vitest';
import { nobleCryptoProvider } from '../src/crypto/noble-provider.ts';
import { createNodeCryptoProvider, nodeCryptoProvider } from '../src/crypto/node-provider.ts';
import { concatBytes, toHex } from '../src/encoding/bytes.ts';

const node = nodeCryptoProvider;
const noble = nobleCryptoProvider;
const sizes = [0, 1, 15, 16, 17, 63, 64, 65, 1000, 65536 + 3, 3 * 65536 + 5];

describe('provider parity (node:crypto vs @noble)', () => {
  it('SHA-256 and HMAC-SHA-256 (with data in parts)', () => {
    for (const size of sizes) {
      const data = node.randomBytes(size);
      const key = node.randomBytes(size % 97);
      expect(toHex(node.sha256(data))).toBe(toHex(noble.sha256(data)));
      const split = Math.floor(size / 3);
      const whole = toHex(node.hmacSha256(key, data));
      expect(toHex(noble.hmacSha256(key, data))).toBe(whole);
      expect(toHex(node.hmacSha256(key, data.subarray(0, split), data.subarray(split)))).toBe(whole);
      expect(toHex(noble.hmacSha256(key, data.subarray(0, split), data.subarray(split)))).toBe(whole);
    }
  });

  it('AES-256-GCM opened in place: the plaintext over the ciphertext, a tampered payload refused', () => {
    expect(node.aesGcmOpenInPlace).toBeTypeOf('function');
    for (const size of [...sizes, 1 << 20]) {
      const key = node.randomBytes(32);
      const nonce = node.randomBytes(12);
      const data = node.randomBytes(size);
      const sealed = node.aesGcmSeal(key, nonce, data, nonce);
      const owned = new Uint8Array(sealed.length + 8);
      owned.set(sealed, 4);
      const view = owned.subarray(4, 4 + sealed.length);
      const plain = node.aesGcmOpenInPlace!(key, nonce, view, nonce);
      expect(plain.buffer).toBe(owned.buffer);
      expect(plain.byteOffset).toBe(4);
      expect(toHex(plain)).toBe(toHex(data));
      const tampered = sealed.slice();
      tampered[sealed.length - 1]! ^= 1;
      expect(() => node.aesGcmOpenInPlace!(key, nonce, tampered, nonce)).toThrow();
    }
  });

  it('AES-256-GCM sealed as parts: their concatenation is the sealed payload, byte for byte', () => {
    expect(node.aesGcmSealParts).toBeTypeOf('function');
    for (const size of sizes) {
      const key = node.randomBytes(32);
      const nonce = node.randomBytes(12);
      const aad = node.randomBytes(size % 40);
      const body = node.randomBytes(size);
      const header = Uint8Array.of(size % 2);
      const parts = node.aesGcmSealParts!(key, nonce, [header, body], aad);
      const sealed = concatBytes(...parts);
      expect(toHex(sealed)).toBe(toHex(noble.aesGcmSeal(key, nonce, [header, body], aad)));
      expect(toHex(noble.aesGcmOpen(key, nonce, sealed, aad))).toBe(toHex(concatBytes(header, body)));
    }
  });

  it('HKDF-SHA-256 at several lengths', () => {
    for (const length of [1, 16, 32, 33, 64, 1024, 8160]) {
      const ikm = node.randomBytes(32);
      const salt = node.randomBytes(length % 50);
      const info = node.randomBytes(length % 13);
      expect(toHex(node.hkdfSha256(ikm, salt, info, length))).toBe(
        toHex(noble.hkdfSha256(ikm, salt, info, length)),
      );
    }
  });

  it('AES-256-GCM: same bytes, single or in parts, and each opens the other', () => {
    for (const size of sizes) {
      const key = node.randomBytes(32);
      const nonce = node.randomBytes(12);
      const aad = node.randomBytes(size % 40);
      const data = node.randomBytes(size);
      const sealed = node.aesGcmSeal(key, nonce, data, aad);
      expect(sealed.length).toBe(size + 16);
      expect(toHex(noble.aesGcmSeal(key, nonce, data, aad))).toBe(toHex(sealed));
      const parts = [data.subarray(0, 1), data.subarray(1, 7), data.subarray(7)];
      expect(toHex(node.aesGcmSeal(key, nonce, parts, aad))).toBe(toHex(sealed));
      expect(toHex(noble.aesGcmSeal(key, nonce, parts, aad))).toBe(toHex(sealed));
      expect(toHex(node.aesGcmOpen(key, nonce, sealed, aad))).toBe(toHex(data));
      expect(toHex(noble.aesGcmOpen(key, nonce, sealed, aad))).toBe(toHex(data));
    }
  });

  it('AES-256-GCM: both refuse a flipped bit, another aad, key or nonce, and a truncated input', () => {
    const key = node.randomBytes(32);
    const nonce = node.randomBytes(12);
    const aad = node.randomBytes(20);
    const sealed = node.aesGcmSeal(key, nonce, node.randomBytes(100), aad);
    const flip = (bytes: Uint8Array, at: number) => {
      const out = new Uint8Array(bytes);
      out[at] = out[at]! ^ 1;
      return out;
    };
    for (const provider of [node, noble]) {
      expect(() => provider.aesGcmOpen(key, nonce, flip(sealed, 0), aad)).toThrow();
      expect(() => provider.aesGcmOpen(key, nonce, flip(sealed, sealed.length - 1), aad)).toThrow();
      expect(() => provider.aesGcmOpen(key, nonce, sealed, flip(aad, 3))).toThrow();
      expect(() => provider.aesGcmOpen(flip(key, 31), nonce, sealed, aad)).toThrow();
      expect(() => provider.aesGcmOpen(key, flip(nonce, 11), sealed, aad)).toThrow();
      expect(() => provider.aesGcmOpen(key, nonce, sealed.subarray(0, 15), aad)).toThrow();
      expect(() => provider.aesGcmOpen(key, nonce, concatBytes(sealed, new Uint8Array(1)), aad)).toThrow();
    }
  });

  it('Argon2id', async () => {
    for (const [memoryKiB, passes, parallelism] of [
      [8, 1, 1],
      [100, 2, 1],
      [256, 1, 4],
    ] as const) {
      const password = node.randomBytes(13);
      const salt = node.randomBytes(16);
      const params = { memoryKiB, passes, parallelism, tagLength: 32 };
      expect(toHex(await node.argon2id(password, salt, params))).toBe(
        toHex(await noble.argon2id(password, salt, params)),
      );
    }
  });

  it('Argon2id: the fallback for Node < 24.7 gives the same keys', async () => {
    const fallback = createNodeCryptoProvider({ nativeArgon2: false });
    expect(fallback.name).toContain('@noble');
    const password = node.randomBytes(10);
    const salt = node.randomBytes(16);
    const params = { memoryKiB: 64, passes: 2, parallelism: 1, tagLength: 32 };
    expect(toHex(await fallback.argon2id(password, salt, params))).toBe(
      toHex(await node.argon2id(password, salt, params)),
    );
  });

  it('node:crypto returns plain Uint8Arrays (never Buffers, whose slice does not copy)', async () => {
    const key = node.randomBytes(32);
    const results = [
      node.randomBytes(4),
      node.sha256(key),
      node.hmacSha256(key, key),
      node.hkdfSha256(key, key, key, 32),
      node.aesGcmSeal(key, key.subarray(0, 12), key, key),
      node.aesGcmOpen(key, key.subarray(0, 12), node.aesGcmSeal(key, key.subarray(0, 12), key, key), key),
      await node.argon2id(key, key, { memoryKiB: 8, passes: 1, parallelism: 1, tagLength: 32 }),
    ];
    for (const r of results) expect(r.constructor).toBe(Uint8Array);
  });

  it('node:crypto key caching never serves a stale key when an array is reused with other bytes', () => {
    const key = node.randomBytes(32);
    const nonce = node.randomBytes(12);
    const data = node.randomBytes(50);
    const before = toHex(node.hmacSha256(key, data));
    const sealedBefore = toHex(node.aesGcmSeal(key, nonce, data, data));
    key[0] = key[0]! ^ 1;
    expect(toHex(node.hmacSha256(key, data))).toBe(toHex(noble.hmacSha256(key, data)));
    expect(toHex(node.hmacSha256(key, data))).not.toBe(before);
    expect(toHex(node.aesGcmSeal(key, nonce, data, data))).toBe(
      toHex(noble.aesGcmSeal(key, nonce, data, data)),
    );
    expect(toHex(node.aesGcmSeal(key, nonce, data, data))).not.toBe(sealedBefore);
  });

  it('random bytes differ', () => {
    expect(toHex(node.randomBytes(32))).not.toBe(toHex(node.randomBytes(32)));
    expect(toHex(noble.randomBytes(32))).not.toBe(toHex(noble.randomBytes(32)));
  });
});
