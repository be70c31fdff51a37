import { describe, expect, it } from 'vitest';
import { chunkStream, DEFAULT_CHUNKING } from '../src/chunking/index.ts';
import {
  blobId,
  deriveObjectKey,
  nobleCryptoProvider,
  nodeCryptoProvider,
  openBlob,
  openResource,
  sealPayload,
  sealResource,
  toHex,
  WrongPassphraseError,
} from '../src/crypto/index.ts';
import { blobTarget } from '../src/crypto/seal.ts';
import { createStoreConfig, openStoreConfig } from '../src/format/index.ts';

const weak = { memoryKiB: 64, passes: 1, parallelism: 1 };

describe('smoke', () => {
  it('creates, opens, seals and chunks', async () => {
    const created = await createStoreConfig(
      { passphrase: 'pw', kdf: weak, allowWeakKdf: true },
      nodeCryptoProvider,
    );
    const opened = await openStoreConfig(created.bytes, 'pw', nobleCryptoProvider);
    expect(toHex(opened.keyRing.macKey)).toBe(toHex(created.keyRing.macKey));
    await expect(openStoreConfig(created.bytes, 'nope', nodeCryptoProvider)).rejects.toThrow(
      WrongPassphraseError,
    );
    const kr = created.keyRing;
    const data = new TextEncoder().encode('hello '.repeat(100));
    const id = blobId(nodeCryptoProvider, kr, data);
    const pack = deriveObjectKey(nodeCryptoProvider, kr, nodeCryptoProvider.randomBytes(32));
    const sealed = sealPayload(nodeCryptoProvider, blobTarget(pack, 0, 1, id), data, 'zstd');
    expect(sealed.length).toBeLessThan(data.length);
    expect(openBlob(nobleCryptoProvider, kr, pack, 0, 1, id, sealed)).toEqual(data);
    const rid = nodeCryptoProvider.randomBytes(32);
    const res = await sealResource(nodeCryptoProvider, kr, 'snapshot', rid, data, 'zstd');
    expect(await openResource(nobleCryptoProvider, kr, 'snapshot', rid, res)).toEqual(data);
    async function* src() {
      yield nodeCryptoProvider.randomBytes(3 * 1024 * 1024);
    }
    let total = 0;
    for await (const c of chunkStream(src(), DEFAULT_CHUNKING, kr.gear)) total += c.length;
    expect(total).toBe(3 * 1024 * 1024);
  });
});
