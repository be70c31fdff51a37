import { describe, expect, it } from 'vitest';
import { PassphraseRequiredError, WrongPassphraseError } from '../src/crypto/errors.ts';
import { DEFAULT_KDF_COST } from '../src/crypto/kdf.ts';
import { nobleCryptoProvider } from '../src/crypto/noble-provider.ts';
import { nodeCryptoProvider } from '../src/crypto/node-provider.ts';
import { fromHex, toHex } from '../src/encoding/bytes.ts';
import { decodeMsgpack, encodeMsgpack, type MsgpackValue } from '../src/encoding/msgpack.ts';
import {
  createStoreConfig,
  DEFAULT_PACKFILE_SIZE,
  decodeStoreConfig,
  openStoreConfig,
  StoreConfigError,
} from '../src/format/config.ts';
import { intTagSize, refDecode, refGet, smallestIntSize, walk } from './format-msgpack-reference.ts';

const weak = { memoryKiB: 64, passes: 1, parallelism: 1 };
const node = nodeCryptoProvider;

async function encrypted(passphrase = 'secret') {
  return createStoreConfig({ passphrase, kdf: weak, allowWeakKdf: true }, node);
}

/** Re-encodes config bytes after `edit` changed the decoded map. */
function edited(bytes: Uint8Array, edit: (map: Record<string, MsgpackValue>) => void): Uint8Array {
  const map = decodeMsgpack(bytes) as Record<string, MsgpackValue>;
  edit(map);
  return encodeMsgpack(map);
}

describe('store config', () => {
  it('round-trips an encrypted store across providers', async () => {
    const created = await encrypted();
    for (const provider of [nodeCryptoProvider, nobleCryptoProvider]) {
      const { config, keyRing } = await openStoreConfig(created.bytes, 'secret', provider);
      expect(toHex(keyRing.macKey)).toBe(toHex(created.keyRing.macKey));
      expect(toHex(keyRing.encKey)).toBe(toHex(created.keyRing.encKey));
      expect(Array.from(keyRing.gear)).toEqual(Array.from(created.keyRing.gear));
      expect(keyRing.plaintext).toBe(false);
      expect(config).toEqual(created.config);
    }
    expect(created.config.packfileSize).toBe(DEFAULT_PACKFILE_SIZE);
    expect(created.config.compression).toBe('zstd');
    expect(created.config.chunking).toEqual({
      algorithm: 'fastcdc-v1',
      min: 512 * 1024,
      avg: 1024 * 1024,
      max: 8 * 1024 * 1024,
      normalization: 2,
    });
  });

  it('uses and enforces the default KDF cost (64 MiB, 3 passes) unless told otherwise', async () => {
    const created = await createStoreConfig({ passphrase: 'secret' }, node);
    expect(created.config.encryption?.kdf).toMatchObject(DEFAULT_KDF_COST);
    expect(created.config.encryption?.kdf.salt.length).toBe(16);
    await expect(createStoreConfig({ passphrase: 'x', kdf: { memoryKiB: 32768 } }, node)).rejects.toThrow(
      /KDF parameters too weak/,
    );
    await expect(createStoreConfig({ passphrase: 'x', kdf: { passes: 2 } }, node)).rejects.toThrow(
      /KDF parameters too weak/,
    );
    await expect(createStoreConfig({ passphrase: '' }, node)).rejects.toThrow(/passphrase/);
  });

  it('refuses a wrong passphrase, and a missing one, with one clear line', async () => {
    const created = await encrypted();
    const wrong = openStoreConfig(created.bytes, 'Secret', node);
    await expect(wrong).rejects.toThrow(WrongPassphraseError);
    await expect(wrong).rejects.toThrow(/^wrong passphrase$/);
    await expect(openStoreConfig(created.bytes, undefined, node)).rejects.toThrow(PassphraseRequiredError);
  });

  it('opens a plaintext store without a passphrase (a given one is ignored)', async () => {
    const created = await createStoreConfig({ plaintext: true }, node);
    expect(created.config.encryption).toBeNull();
    expect(created.keyRing.plaintext).toBe(true);
    for (const pass of [undefined, 'anything']) {
      const { keyRing } = await openStoreConfig(created.bytes, pass, nobleCryptoProvider);
      expect(keyRing.plaintext).toBe(true);
      expect(toHex(keyRing.macKey)).toBe(toHex(created.keyRing.macKey));
    }
  });

  it('gives every store its own id and keys', async () => {
    const a = await createStoreConfig({ plaintext: true }, node);
    const b = await createStoreConfig({ plaintext: true }, node);
    expect(toHex(a.config.storeId)).not.toBe(toHex(b.config.storeId));
    expect(toHex(a.keyRing.macKey)).not.toBe(toHex(b.keyRing.macKey));
  });

  it('encodes every integer as a MessagePack int of the smallest size, and only standard types', async () => {
    const created = await createStoreConfig(
      { plaintext: true, packfileSize: 1024 ** 3, chunking: { min: 64, avg: 64, max: 64 * 1024 * 1024 } },
      node,
    );
    const enc = await encrypted();
    for (const bytes of [created.bytes, enc.bytes]) {
      const root = refDecode(bytes);
      for (const v of walk(root)) {
        expect(v.t).not.toBe('float');
        expect(v.t).not.toBe('ext');
        if (v.t === 'int') expect(intTagSize(v.tag)).toBe(smallestIntSize(v.v));
      }
      expect(refGet(root, 'format')).toEqual({ t: 'str', v: 'kloset' });
      expect(refGet(root, 'version')).toEqual({ t: 'int', v: 1n, tag: 1 });
    }
    const root = refDecode(created.bytes);
    expect(refGet(root, 'packfile_size')).toEqual({ t: 'int', v: 1024n ** 3n, tag: 0xce });
    const chunking = refGet(root, 'chunking')!;
    expect(refGet(chunking, 'max')).toEqual({ t: 'int', v: 64n * 1024n * 1024n, tag: 0xce });
    expect(refGet(root, 'master_key')).toMatchObject({ t: 'bin' });
    // The first bytes: a fixmap, then "format": "kloset".
    expect(toHex(created.bytes.subarray(0, 15))).toBe(
      `89a6${toHex(new TextEncoder().encode('format'))}a6${toHex(new TextEncoder().encode('kloset'))}`,
    );
  });

  it('ignores keys it does not know', async () => {
    const created = await encrypted();
    const bytes = edited(created.bytes, (m) => {
      m.future_feature = { anything: [1, 2, 3] };
    });
    const { keyRing } = await openStoreConfig(bytes, 'secret', node);
    expect(toHex(keyRing.macKey)).toBe(toHex(created.keyRing.macKey));
  });

  it('says "not a kloset store" for other data', async () => {
    const created = await encrypted();
    const others: Uint8Array[] = [
      new Uint8Array(0),
      new TextEncoder().encode('{"format":"kloset"}'),
      node.randomBytes(200),
      encodeMsgpack([1, 2, 3]),
      encodeMsgpack({ format: 'restic', version: 1 }),
      edited(created.bytes, (m) => {
        delete m.format;
      }),
      edited(created.bytes, (m) => {
        m.version = '1';
      }),
      new Uint8Array([...created.bytes, 0]),
    ];
    for (const bytes of others) {
      expect(() => decodeStoreConfig(bytes)).toThrow(StoreConfigError);
      expect(() => decodeStoreConfig(bytes)).toThrow(/^not a kloset store$/);
    }
  });

  it('says "unsupported store version N" for other versions', async () => {
    const created = await encrypted();
    for (const version of [0, 2, 99]) {
      const bytes = edited(created.bytes, (m) => {
        m.version = version;
      });
      await expect(openStoreConfig(bytes, 'secret', node)).rejects.toThrow(
        new RegExp(`^unsupported store version ${version}$`),
      );
    }
  });

  it('validates every field strictly, in one line', async () => {
    const enc = await encrypted();
    const plain = await createStoreConfig({ plaintext: true }, node);
    type Map = Record<string, MsgpackValue>;
    const sub = (m: Map, key: string) => m[key] as Map;
    const cases: Array<[Uint8Array, (m: Map) => void, RegExp]> = [
      [enc.bytes, (m) => delete m.store_id, /store_id must be bin\(32\)/],
      [enc.bytes, (m) => (m.store_id = new Uint8Array(31)), /store_id/],
      [enc.bytes, (m) => (m.created = -1), /created/],
      [enc.bytes, (m) => (m.created = 1.5), /created/],
      [enc.bytes, (m) => (sub(m, 'chunking').min = 4 * 1024 * 1024), /chunking sizes/],
      [enc.bytes, (m) => (sub(m, 'chunking').avg = 1000000), /power of two/],
      [enc.bytes, (m) => (sub(m, 'chunking').max = 128 * 1024 * 1024), /chunking sizes/],
      [enc.bytes, (m) => (sub(m, 'chunking').normalization = 4), /normalization/],
      [enc.bytes, (m) => (sub(m, 'chunking').algorithm = 'rabin'), /chunking.algorithm/],
      [enc.bytes, (m) => (m.packfile_size = 0), /packfile size/],
      [enc.bytes, (m) => (m.packfile_size = 2 ** 40), /packfile size/],
      [enc.bytes, (m) => (m.compression = 'lz4'), /compression/],
      [enc.bytes, (m) => (m.master_key = new Uint8Array(32)), /must not carry master_key/],
      [enc.bytes, (m) => (sub(m, 'encryption').cipher = 'chacha20'), /cipher/],
      [enc.bytes, (m) => (sub(m, 'encryption').wrapped_key = new Uint8Array(59)), /wrapped_key/],
      [enc.bytes, (m) => (sub(sub(m, 'encryption'), 'kdf').salt = new Uint8Array(4)), /salt/],
      [enc.bytes, (m) => (sub(sub(m, 'encryption'), 'kdf').memory_kib = 2 ** 30), /memory/],
      [enc.bytes, (m) => (sub(sub(m, 'encryption'), 'kdf').passes = 0), /passes/],
      [enc.bytes, (m) => (sub(sub(m, 'encryption'), 'kdf').parallelism = 0), /parallelism/],
      [enc.bytes, (m) => (sub(sub(m, 'encryption'), 'kdf').version = 16), /version/],
      [enc.bytes, (m) => (sub(sub(m, 'encryption'), 'kdf').algorithm = 'scrypt'), /algorithm/],
      [plain.bytes, (m) => delete m.master_key, /master_key/],
      [plain.bytes, (m) => (m.encryption = 5), /encryption must be a map or nil/],
    ];
    for (const [bytes, edit, message] of cases) {
      const bad = edited(bytes, (m) => {
        edit(m);
      });
      let error: unknown;
      try {
        decodeStoreConfig(bad);
      } catch (err) {
        error = err;
      }
      expect(error, String(message)).toBeInstanceOf(StoreConfigError);
      expect((error as Error).message).toMatch(/^invalid store config: /);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toContain('\n');
    }
  });

  it('validates creation options', async () => {
    await expect(createStoreConfig({ plaintext: true, packfileSize: 10 }, node)).rejects.toThrow(
      /packfile size/,
    );
    await expect(
      createStoreConfig({ plaintext: true, chunking: { min: 1024, avg: 3000, max: 65536 } }, node),
    ).rejects.toThrow(/power of two/);
    await expect(
      createStoreConfig({ plaintext: true, chunking: { min: 2 * 1024 * 1024 } }, node),
    ).rejects.toThrow(/chunking sizes/);
  });

  it('copies the byte fields it decodes (no views into the input)', async () => {
    const created = await encrypted();
    const bytes = new Uint8Array(created.bytes);
    const { config } = decodeStoreConfig(bytes);
    const storeId = toHex(config.storeId);
    bytes.fill(0);
    expect(toHex(config.storeId)).toBe(storeId);
    expect(fromHex(storeId).length).toBe(32);
  });
});
