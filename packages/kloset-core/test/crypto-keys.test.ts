import { describe, expect, it } from 'vitest';
import { WrongPassphraseError } from '../src/crypto/errors.ts';
import {
  assertKdfMinimums,
  assertKdfReadable,
  DEFAULT_KDF_COST,
  deriveKek,
  type KdfParams,
  MIN_KDF_COST,
  newKdfParams,
} from '../src/crypto/kdf.ts';
import { blobId, deriveKeyRing } from '../src/crypto/key-ring.ts';
import { createMasterKey, unwrapKey, WRAPPED_KEY_LENGTH, wrapKey } from '../src/crypto/master-key.ts';
import { nobleCryptoProvider } from '../src/crypto/noble-provider.ts';
import { nodeCryptoProvider } from '../src/crypto/node-provider.ts';
import { toHex } from '../src/encoding/bytes.ts';

const node = nodeCryptoProvider;

describe('KDF parameters', () => {
  it('defaults to 64 MiB, 3 passes, 1 lane, which is also the minimum for new stores', () => {
    expect(DEFAULT_KDF_COST).toEqual({ memoryKiB: 65536, passes: 3, parallelism: 1 });
    expect(MIN_KDF_COST).toEqual(DEFAULT_KDF_COST);
    expect(() => assertKdfMinimums(DEFAULT_KDF_COST)).not.toThrow();
    expect(() => assertKdfMinimums({ memoryKiB: 1 << 20, passes: 4, parallelism: 2 })).not.toThrow();
    expect(() => assertKdfMinimums({ ...DEFAULT_KDF_COST, memoryKiB: 65535 })).toThrow(/too weak/);
    expect(() => assertKdfMinimums({ ...DEFAULT_KDF_COST, passes: 2 })).toThrow(/too weak/);
  });

  it('bounds what a reader accepts', () => {
    const ok = newKdfParams(node, { memoryKiB: 64, passes: 1, parallelism: 1 });
    expect(ok.salt.length).toBe(16);
    expect(() => assertKdfReadable(ok)).not.toThrow();
    const bad: Array<Partial<KdfParams>> = [
      { salt: new Uint8Array(7) },
      { salt: new Uint8Array(65) },
      { memoryKiB: 4 * 1024 * 1024 + 1 },
      { memoryKiB: 7 },
      { parallelism: 2, memoryKiB: 15 },
      { passes: 0 },
      { passes: 65 },
      { parallelism: 17 },
      { passes: 1.5 },
    ];
    for (const b of bad)
      expect(() => assertKdfReadable({ ...ok, ...b }), JSON.stringify(b)).toThrow(RangeError);
  });

  it('derives the same KEK with both providers, and different ones for other passphrases or salts', async () => {
    const params = newKdfParams(node, { memoryKiB: 64, passes: 1, parallelism: 1 });
    const a = await deriveKek(node, 'pässword', params);
    expect(toHex(await deriveKek(nobleCryptoProvider, 'pässword', params))).toBe(toHex(a));
    expect(toHex(await deriveKek(node, 'pässword ', params))).not.toBe(toHex(a));
    expect(toHex(await deriveKek(node, 'pässword', { ...params, salt: node.randomBytes(16) }))).not.toBe(
      toHex(a),
    );
  });
});

describe('master key wrapping', () => {
  it('unwraps with the right KEK and store id only', () => {
    const k = createMasterKey(node);
    const kek = node.randomBytes(32);
    const storeId = node.randomBytes(32);
    const wrapped = wrapKey(node, kek, k, storeId);
    expect(wrapped.length).toBe(WRAPPED_KEY_LENGTH);
    expect(toHex(unwrapKey(node, kek, wrapped, storeId))).toBe(toHex(k));
    expect(toHex(unwrapKey(nobleCryptoProvider, kek, wrapped, storeId))).toBe(toHex(k));
    expect(() => unwrapKey(node, node.randomBytes(32), wrapped, storeId)).toThrow(WrongPassphraseError);
    expect(() => unwrapKey(nobleCryptoProvider, node.randomBytes(32), wrapped, storeId)).toThrow(
      WrongPassphraseError,
    );
    // The wrapped key of another store does not open here (aad binds the store id).
    expect(() => unwrapKey(node, kek, wrapped, node.randomBytes(32))).toThrow(WrongPassphraseError);
    expect(() => unwrapKey(node, node.randomBytes(32), wrapped, storeId)).toThrow(/^wrong passphrase$/);
  });

  it('uses a fresh nonce per wrap', () => {
    const k = createMasterKey(node);
    const kek = node.randomBytes(32);
    const storeId = node.randomBytes(32);
    expect(toHex(wrapKey(node, kek, k, storeId))).not.toBe(toHex(wrapKey(node, kek, k, storeId)));
  });
});

describe('key ring', () => {
  it('derives independent subkeys, a 256-entry gear table, per store', () => {
    const k = createMasterKey(node);
    const storeA = node.randomBytes(32);
    const a = deriveKeyRing(node, k, storeA);
    const b = deriveKeyRing(node, k, node.randomBytes(32));
    expect(a.gear.length).toBe(256);
    expect(new Set([toHex(a.macKey), toHex(a.encKey), toHex(b.macKey), toHex(b.encKey)]).size).toBe(4);
    expect(Array.from(a.gear)).not.toEqual(Array.from(b.gear));
    expect(new Set(a.gear).size).toBeGreaterThan(250);
    expect(a.plaintext).toBe(false);
    expect(deriveKeyRing(node, k, storeA, { plaintext: true }).plaintext).toBe(true);
    const same = deriveKeyRing(nobleCryptoProvider, k, storeA);
    expect(toHex(same.macKey)).toBe(toHex(a.macKey));
    expect(Array.from(same.gear)).toEqual(Array.from(a.gear));
  });

  it('makes blob ids keyed: the same data has other ids in other stores, and is not its SHA-256', () => {
    const data = new TextEncoder().encode('marker string');
    const a = deriveKeyRing(node, createMasterKey(node), node.randomBytes(32));
    const b = deriveKeyRing(node, createMasterKey(node), node.randomBytes(32));
    expect(toHex(blobId(node, a, data))).not.toBe(toHex(blobId(node, b, data)));
    expect(toHex(blobId(node, a, data))).not.toBe(toHex(node.sha256(data)));
    expect(toHex(blobId(nobleCryptoProvider, a, data))).toBe(toHex(blobId(node, a, data)));
  });

  it('refuses keys and ids of the wrong length', () => {
    expect(() => deriveKeyRing(node, new Uint8Array(31), new Uint8Array(32))).toThrow(/master key/);
    expect(() => deriveKeyRing(node, new Uint8Array(32), new Uint8Array(16))).toThrow(/store id/);
  });
});
