import { describe, expect, it } from 'vitest';
import { CorruptDataError } from '../src/crypto/errors.ts';
import { blobId, deriveKeyRing, type KeyRing } from '../src/crypto/key-ring.ts';
import { nobleCryptoProvider } from '../src/crypto/noble-provider.ts';
import { nodeCryptoProvider } from '../src/crypto/node-provider.ts';
import {
  blobTarget,
  deriveObjectKey,
  makeNonce,
  NonceDomain,
  OBJECT_SALT_LENGTH,
  openBlob,
  openBlobAsync,
  openPayload,
  openPayloadAsync,
  openResource,
  packFooterTarget,
  packIndexTarget,
  resourceBodyAad,
  SEAL_OVERHEAD,
  sealEncoded,
  sealPayload,
  sealPayloadAsync,
  sealResource,
} from '../src/crypto/seal.ts';
import { toHex } from '../src/encoding/bytes.ts';

const node = nodeCryptoProvider;
const rings: KeyRing[] = [
  deriveKeyRing(node, node.randomBytes(32), node.randomBytes(32)),
  deriveKeyRing(node, node.randomBytes(32), node.randomBytes(32), { plaintext: true }),
];
const text = new TextEncoder().encode('some text that compresses well. '.repeat(1000));
const inputs = [new Uint8Array(0), Uint8Array.of(7), node.randomBytes(127), node.randomBytes(70000), text];

describe.each(rings.map((ring) => ({ ring, mode: ring.plaintext ? 'plaintext store' : 'encrypted store' })))(
  'sealing in an $mode',
  ({ ring }) => {
    it('round-trips payloads with both providers, sync and async', async () => {
      const pack = deriveObjectKey(node, ring, node.randomBytes(32));
      for (const data of inputs) {
        const id = blobId(node, ring, data);
        const target = blobTarget(pack, 4096, 1, id);
        for (const sealed of [
          sealPayload(node, target, data, 'zstd'),
          await sealPayloadAsync(node, target, data, 'zstd'),
          sealPayload(nobleCryptoProvider, target, data, 'zstd'),
        ]) {
          for (const provider of [node, nobleCryptoProvider]) {
            expect(toHex(openPayload(provider, target, sealed, 'x'))).toBe(toHex(data));
            expect(toHex(await openPayloadAsync(provider, target, sealed, 'x'))).toBe(toHex(data));
            expect(toHex(openBlob(provider, ring, pack, 4096, 1, id, sealed))).toBe(toHex(data));
            expect(toHex(await openBlobAsync(provider, ring, pack, 4096, 1, id, sealed))).toBe(toHex(data));
          }
        }
        const none = sealPayload(node, target, data, 'none');
        expect(none.length).toBe(data.length + SEAL_OVERHEAD);
      }
      expect(
        sealPayload(node, blobTarget(pack, 0, 1, blobId(node, ring, text)), text, 'zstd').length,
      ).toBeLessThan(text.length / 8);
    });

    it('makes the plaintext readable in a plaintext store only', () => {
      const pack = deriveObjectKey(node, ring, node.randomBytes(32));
      const marker = new TextEncoder().encode('MARKER-0123456789');
      const sealed = sealPayload(node, blobTarget(pack, 0, 1, blobId(node, ring, marker)), marker, 'none');
      expect(Buffer.from(sealed).includes(Buffer.from(marker))).toBe(ring.plaintext);
    });

    it('refuses tampering: any flipped byte, another kind, id, offset, packfile, or domain', () => {
      const packId = node.randomBytes(32);
      const pack = deriveObjectKey(node, ring, packId);
      const data = node.randomBytes(300);
      const id = blobId(node, ring, data);
      const sealed = sealPayload(node, blobTarget(pack, 10, 1, id), data, 'zstd');
      const subject = `blob ${toHex(id)} in packfile ${toHex(packId)}`;
      for (let at = 0; at < sealed.length; at += 7) {
        const bad = new Uint8Array(sealed);
        bad[at] = bad[at]! ^ 0x20;
        expect(() => openBlob(node, ring, pack, 10, 1, id, bad)).toThrow(CorruptDataError);
      }
      const otherId = node.randomBytes(32);
      const otherPack = deriveObjectKey(node, ring, node.randomBytes(32));
      const attempts: Array<() => unknown> = [
        () => openBlob(node, ring, pack, 10, 2, id, sealed),
        () => openBlob(node, ring, pack, 11, 1, id, sealed),
        () => openBlob(node, ring, otherPack, 10, 1, id, sealed),
        () => openBlob(node, ring, pack, 10, 1, otherId, sealed),
        () =>
          openPayload(
            node,
            { ...blobTarget(pack, 10, 1, id), nonce: makeNonce(NonceDomain.PackIndex, 10) },
            sealed,
            'x',
          ),
        () => openBlob(node, ring, pack, 10, 1, id, sealed.subarray(0, SEAL_OVERHEAD - 1)),
      ];
      for (const attempt of attempts) expect(attempt).toThrow(CorruptDataError);
      expect(() => openBlob(node, ring, pack, 10, 2, id, sealed)).toThrow(`corrupt ${subject}: `);
    });

    it('checks the blob id MAC after decryption', () => {
      const pack = deriveObjectKey(node, ring, node.randomBytes(32));
      const data = node.randomBytes(100);
      const wrongId = blobId(node, ring, node.randomBytes(100));
      // Authentic ciphertext under a wrong id: only the MAC check can catch it.
      const sealed = sealPayload(node, blobTarget(pack, 0, 1, wrongId), data, 'none');
      expect(() => openBlob(node, ring, pack, 0, 1, wrongId, sealed)).toThrow(
        /content does not match its id/,
      );
    });

    it('seals pack index and footer under their own domains', () => {
      const pack = deriveObjectKey(node, ring, node.randomBytes(32));
      const footer = new Uint8Array(16).fill(3);
      const sealedFooter = sealPayload(node, packFooterTarget(pack), footer, 'none');
      expect(sealedFooter.length).toBe(33);
      expect(toHex(openPayload(node, packFooterTarget(pack), sealedFooter, 'footer'))).toBe(toHex(footer));
      expect(() => openPayload(node, packIndexTarget(pack), sealedFooter, 'footer')).toThrow(
        CorruptDataError,
      );
    });

    it('seals resources with a fresh salt each time and binds kind and id', async () => {
      const id = node.randomBytes(32);
      const body = new TextEncoder().encode('lock body');
      const a = await sealResource(node, ring, 'lock', id, body, 'zstd');
      const b = await sealResource(node, ring, 'lock', id, body, 'zstd');
      expect(toHex(a.subarray(0, OBJECT_SALT_LENGTH))).not.toBe(toHex(b.subarray(0, OBJECT_SALT_LENGTH)));
      expect(toHex(a)).not.toBe(toHex(b));
      for (const bytes of [a, b]) {
        expect(toHex(await openResource(nobleCryptoProvider, ring, 'lock', id, bytes))).toBe(toHex(body));
      }
      await expect(openResource(node, ring, 'state', id, a)).rejects.toThrow(`corrupt state ${toHex(id)}`);
      await expect(openResource(node, ring, 'lock', node.randomBytes(32), a)).rejects.toThrow(
        CorruptDataError,
      );
      await expect(openResource(node, ring, 'lock', id, a.subarray(0, 40))).rejects.toThrow(/too short/);
    });
  },
);

describe('no (key, nonce) reuse', () => {
  const ring = rings[0]!;

  it('gives every object salt its own key', () => {
    const keys = new Set<string>();
    for (let i = 0; i < 1000; i++) keys.add(toHex(deriveObjectKey(node, ring, node.randomBytes(32)).key));
    expect(keys.size).toBe(1000);
    const salt = node.randomBytes(32);
    expect(toHex(deriveObjectKey(nobleCryptoProvider, ring, salt).key)).toBe(
      toHex(deriveObjectKey(node, ring, salt).key),
    );
    const otherStore = deriveKeyRing(node, node.randomBytes(32), ring.storeId);
    expect(toHex(deriveObjectKey(node, otherStore, salt).key)).not.toBe(
      toHex(deriveObjectKey(node, ring, salt).key),
    );
  });

  it('gives distinct nonces to every (domain, counter) pair within an object', () => {
    const nonces = new Set<string>();
    for (const domain of [0, 1, 2, 3] as const) {
      for (const counter of [0, 1, 255, 256, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1]) {
        nonces.add(toHex(makeNonce(domain, counter)));
      }
    }
    expect(nonces.size).toBe(32);
    expect(toHex(makeNonce(NonceDomain.ResourceBody, 2 ** 32 + 1))).toBe('000000030000000100000001');
    expect(() => makeNonce(0, -1)).toThrow(RangeError);
    expect(() => makeNonce(0, 2 ** 53)).toThrow(RangeError);
  });

  it('rejects salts and ids of the wrong length', () => {
    expect(() => deriveObjectKey(node, ring, new Uint8Array(16))).toThrow(/object salt/);
    expect(() => resourceBodyAad('state', new Uint8Array(31))).toThrow(/resource id/);
    const pack = deriveObjectKey(node, ring, node.randomBytes(32));
    expect(() => blobTarget(pack, 0, 1, new Uint8Array(8))).toThrow(/blob id/);
  });

  it('seals identical bytes differently in different packfiles', () => {
    const data = node.randomBytes(64);
    const id = blobId(node, ring, data);
    const a = deriveObjectKey(node, ring, node.randomBytes(32));
    const b = deriveObjectKey(node, ring, node.randomBytes(32));
    expect(toHex(sealEncoded(node, blobTarget(a, 0, 1, id), 0, data))).not.toBe(
      toHex(sealEncoded(node, blobTarget(b, 0, 1, id), 0, data)),
    );
  });
});
