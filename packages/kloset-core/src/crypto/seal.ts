/**
 * Encrypted objects and sealed payloads (FORMAT.md §4.2-§4.4): per-object keys, nonces, associated
 * data, and sealing of `u8(compression) || data`.
 */

import { concatBytes, equalBytes, toHex, utf8, writeU32be, writeU64be } from '../encoding/bytes.ts';
import type { BlobKind } from '../repository/blob-store.ts';
import {
  type CompressionCodec,
  type CompressionMode,
  type CompressOptions,
  compressIfPays,
  compressIfPaysAsync,
  DEFAULT_MAX_PAYLOAD_LENGTH,
  decompressBody,
  decompressBodyAsync,
} from './compression.ts';
import { CorruptDataError } from './errors.ts';
import type { KeyRing } from './key-ring.ts';
import { blobId } from './key-ring.ts';
import type { CryptoProvider } from './provider.ts';

/** GCM tag length, and the plaintext-store MAC trailer length. */
export const TAG_LENGTH = 16;
/** Bytes a sealed payload adds to its (possibly compressed) body: compression byte + tag. */
export const SEAL_OVERHEAD = 1 + TAG_LENGTH;
/** Length of an object salt (a packfile id, or the random salt in front of a resource). */
export const OBJECT_SALT_LENGTH = 32;

const INFO_OBJECT_KEY = utf8('kloset/v1/object-key');
const AAD_BLOB = utf8('kloset/v1/blob');
const AAD_PACK_INDEX = utf8('kloset/v1/pack-index');
const AAD_PACK_FOOTER = utf8('kloset/v1/pack-footer');

/** Nonce domains: the first 4 bytes of every nonce. */
export const NonceDomain = { Blob: 0, PackIndex: 1, PackFooter: 2, ResourceBody: 3 } as const;
export type NonceDomain = (typeof NonceDomain)[keyof typeof NonceDomain];

/** Kinds of resources whose body is one sealed payload. */
export type SealedResourceKind = 'state' | 'snapshot' | 'lock';

/** The key of one object (a packfile or a resource), used for that object only. */
export interface ObjectKey {
  /** The object salt: the packfile id, or the resource's random salt. */
  readonly salt: Uint8Array;
  /** K_obj. */
  readonly key: Uint8Array;
  /** Plaintext store: MAC trailer instead of encryption. */
  readonly plaintext: boolean;
}

/** Where a payload goes: the object key, its nonce and associated data. */
export interface SealTarget {
  readonly objectKey: ObjectKey;
  readonly nonce: Uint8Array;
  readonly aad: Uint8Array;
}

/** K_obj = HKDF-SHA-256(ikm K_enc, salt object_salt, info "kloset/v1/object-key", 32). */
export function deriveObjectKey(
  provider: CryptoProvider,
  keyRing: Pick<KeyRing, 'encKey' | 'plaintext'>,
  salt: Uint8Array,
): ObjectKey {
  if (salt.length !== OBJECT_SALT_LENGTH)
    throw new RangeError(`object salt must be ${OBJECT_SALT_LENGTH} bytes`);
  return {
    salt,
    key: provider.hkdfSha256(keyRing.encKey, salt, INFO_OBJECT_KEY, 32),
    plaintext: keyRing.plaintext,
  };
}

/** `u32be(domain) || u64be(counter)`. */
export function makeNonce(domain: NonceDomain, counter: number): Uint8Array {
  const nonce = new Uint8Array(12);
  writeU32be(nonce, 0, domain);
  writeU64be(nonce, 4, counter);
  return nonce;
}

function checkId(id: Uint8Array, what: string): void {
  if (id.length !== 32) throw new RangeError(`${what} must be 32 bytes`);
}

/** `"kloset/v1/blob" || u8(kind) || blob_id`. */
export function blobAad(kind: BlobKind, id: Uint8Array): Uint8Array {
  checkId(id, 'blob id');
  return concatBytes(AAD_BLOB, Uint8Array.of(kind), id);
}

/** `"kloset/v1/pack-index" || packfile_id`. */
export function packIndexAad(packfileId: Uint8Array): Uint8Array {
  checkId(packfileId, 'packfile id');
  return concatBytes(AAD_PACK_INDEX, packfileId);
}

/** `"kloset/v1/pack-footer" || packfile_id`. */
export function packFooterAad(packfileId: Uint8Array): Uint8Array {
  checkId(packfileId, 'packfile id');
  return concatBytes(AAD_PACK_FOOTER, packfileId);
}

/** `"kloset/v1/" || kind || "/" || resource_id`. */
export function resourceBodyAad(kind: SealedResourceKind, resourceId: Uint8Array): Uint8Array {
  checkId(resourceId, 'resource id');
  return concatBytes(utf8(`kloset/v1/${kind}/`), resourceId);
}

function plaintextTag(provider: CryptoProvider, target: SealTarget, header: Uint8Array, body: Uint8Array) {
  return provider
    .hmacSha256(target.objectKey.key, target.nonce, target.aad, header, body)
    .subarray(0, TAG_LENGTH);
}

/**
 * Seals an already encoded payload: `codec` is the compression byte, `body` the (compressed) data.
 * Output: `AES-256-GCM(K_obj, nonce, u8(codec) || body, aad)`, i.e. `ciphertext || tag(16)`, or for a
 * plaintext store `u8(codec) || body || HMAC-SHA-256(K_obj, nonce || aad || u8(codec) || body)[0..16]`.
 */
export function sealEncoded(
  provider: CryptoProvider,
  target: SealTarget,
  codec: CompressionCodec,
  body: Uint8Array,
): Uint8Array {
  const header = Uint8Array.of(codec);
  if (!target.objectKey.plaintext) {
    return provider.aesGcmSeal(target.objectKey.key, target.nonce, [header, body], target.aad);
  }
  const sealed = new Uint8Array(SEAL_OVERHEAD + body.length);
  sealed[0] = codec;
  sealed.set(body, 1);
  sealed.set(plaintextTag(provider, target, header, body), 1 + body.length);
  return sealed;
}

/**
 * sealEncoded as parts whose concatenation is sealEncoded's output: with a provider that has
 * aesGcmSealParts, the ciphertext is not copied into one array.
 */
export function sealEncodedParts(
  provider: CryptoProvider,
  target: SealTarget,
  codec: CompressionCodec,
  body: Uint8Array,
): Uint8Array[] {
  if (target.objectKey.plaintext || provider.aesGcmSealParts === undefined) {
    return [sealEncoded(provider, target, codec, body)];
  }
  return provider.aesGcmSealParts(
    target.objectKey.key,
    target.nonce,
    [Uint8Array.of(codec), body],
    target.aad,
  );
}

/** Compresses `data` when `compression` allows and it pays, then seals it (zstd on this thread). */
export function sealPayload(
  provider: CryptoProvider,
  target: SealTarget,
  data: Uint8Array,
  compression: CompressionMode,
  options?: CompressOptions,
): Uint8Array {
  const { codec, body } = compressIfPays(data, compression, options);
  return sealEncoded(provider, target, codec, body);
}

/** sealPayload with zstd in the thread pool; encryption stays on this thread. */
export async function sealPayloadAsync(
  provider: CryptoProvider,
  target: SealTarget,
  data: Uint8Array,
  compression: CompressionMode,
  options?: CompressOptions,
): Promise<Uint8Array> {
  const { codec, body } = await compressIfPaysAsync(data, compression, options);
  return sealEncoded(provider, target, codec, body);
}

/**
 * Authenticates and decrypts a sealed payload, without decompressing: returns the compression byte
 * and a view of the body. Throws CorruptDataError naming `subject` when authentication fails.
 */
export function openEncoded(
  provider: CryptoProvider,
  target: SealTarget,
  sealed: Uint8Array,
  subject: string,
  inPlace = false,
): { codec: number; body: Uint8Array } {
  if (sealed.length < SEAL_OVERHEAD) {
    throw new CorruptDataError(subject, `sealed payload too short (${sealed.length} bytes)`);
  }
  let encoded: Uint8Array;
  if (target.objectKey.plaintext) {
    const end = sealed.length - TAG_LENGTH;
    const expected = plaintextTag(provider, target, sealed.subarray(0, 1), sealed.subarray(1, end));
    if (!equalBytes(expected, sealed.subarray(end))) throw new CorruptDataError(subject, 'MAC check failed');
    encoded = sealed.subarray(0, end);
  } else {
    try {
      const { key, plaintext } = target.objectKey;
      encoded =
        inPlace && !plaintext && provider.aesGcmOpenInPlace !== undefined
          ? provider.aesGcmOpenInPlace(key, target.nonce, sealed, target.aad)
          : provider.aesGcmOpen(key, target.nonce, sealed, target.aad);
    } catch (err) {
      throw new CorruptDataError(subject, 'authentication failed', { cause: err });
    }
  }
  return { codec: encoded[0]!, body: encoded.subarray(1) };
}

/** Opens and decompresses a sealed payload (zstd on this thread). */
export function openPayload(
  provider: CryptoProvider,
  target: SealTarget,
  sealed: Uint8Array,
  subject: string,
  maxLength: number = DEFAULT_MAX_PAYLOAD_LENGTH,
): Uint8Array {
  const { codec, body } = openEncoded(provider, target, sealed, subject);
  return decompressBody(codec, body, subject, maxLength);
}

/**
 * openPayload with zstd in the thread pool (large payloads). With `inPlace`, the plaintext may be
 * written over `sealed` (which the caller owns and no longer needs) and returned as a view of it.
 * `exact`: the plaintext should be `maxLength` bytes long (see decompressBody).
 */
export async function openPayloadAsync(
  provider: CryptoProvider,
  target: SealTarget,
  sealed: Uint8Array,
  subject: string,
  maxLength: number = DEFAULT_MAX_PAYLOAD_LENGTH,
  inPlace = false,
  exact = false,
): Promise<Uint8Array> {
  const { codec, body } = openEncoded(provider, target, sealed, subject, inPlace);
  return decompressBodyAsync(codec, body, subject, maxLength, exact);
}

// ---- Blobs in a packfile ------------------------------------------------------------------------

/**
 * The seal target of a blob in a packfile whose object key is `pack`. The nonce counter is the
 * blob's byte offset in the packfile (FORMAT.md §4.2), which readers know from the index.
 */
export function blobTarget(pack: ObjectKey, offset: number, kind: BlobKind, id: Uint8Array): SealTarget {
  return { objectKey: pack, nonce: makeNonce(NonceDomain.Blob, offset), aad: blobAad(kind, id) };
}

/** Seal target of a packfile's index. */
export function packIndexTarget(pack: ObjectKey): SealTarget {
  return { objectKey: pack, nonce: makeNonce(NonceDomain.PackIndex, 0), aad: packIndexAad(pack.salt) };
}

/** Seal target of a packfile's footer (never compressed: seal it with compression 'none'). */
export function packFooterTarget(pack: ObjectKey): SealTarget {
  return { objectKey: pack, nonce: makeNonce(NonceDomain.PackFooter, 0), aad: packFooterAad(pack.salt) };
}

/** How errors name a blob of a packfile. */
export function blobSubject(pack: ObjectKey, id: Uint8Array): string {
  return `blob ${toHex(id)} in packfile ${toHex(pack.salt)}`;
}

/** Checks that `plaintext` has MAC `id`; throws CorruptDataError naming the blob and packfile otherwise. */
export function verifyBlobId(
  provider: CryptoProvider,
  keyRing: KeyRing,
  pack: ObjectKey,
  id: Uint8Array,
  plaintext: Uint8Array,
): void {
  if (!equalBytes(blobId(provider, keyRing, plaintext), id)) {
    throw new CorruptDataError(blobSubject(pack, id), 'content does not match its id');
  }
}

/**
 * Opens the blob at `offset` in packfile `pack`: checks the GCM tag (binding kind, id and packfile),
 * decompresses (at most `maxLength` bytes; pass the indexed raw length), and checks the id MAC.
 */
export async function openBlobAsync(
  provider: CryptoProvider,
  keyRing: KeyRing,
  pack: ObjectKey,
  offset: number,
  kind: BlobKind,
  id: Uint8Array,
  sealed: Uint8Array,
  maxLength: number = DEFAULT_MAX_PAYLOAD_LENGTH,
): Promise<Uint8Array> {
  const target = blobTarget(pack, offset, kind, id);
  const data = await openPayloadAsync(provider, target, sealed, blobSubject(pack, id), maxLength);
  verifyBlobId(provider, keyRing, pack, id, data);
  return data;
}

/** openBlobAsync with zstd on this thread. */
export function openBlob(
  provider: CryptoProvider,
  keyRing: KeyRing,
  pack: ObjectKey,
  offset: number,
  kind: BlobKind,
  id: Uint8Array,
  sealed: Uint8Array,
  maxLength: number = DEFAULT_MAX_PAYLOAD_LENGTH,
): Uint8Array {
  const data = openPayload(
    provider,
    blobTarget(pack, offset, kind, id),
    sealed,
    blobSubject(pack, id),
    maxLength,
  );
  verifyBlobId(provider, keyRing, pack, id, data);
  return data;
}

// ---- Resources (state, snapshot, lock) ----------------------------------------------------------

/**
 * A whole `state`/`snapshot`/`lock` resource: `salt(32, random) || sealed body` (domain 3, counter 0,
 * resource-body aad). A fresh salt, hence a fresh key, every time (a refreshed lock gets a new one).
 */
export async function sealResource(
  provider: CryptoProvider,
  keyRing: KeyRing,
  kind: SealedResourceKind,
  resourceId: Uint8Array,
  body: Uint8Array,
  compression: CompressionMode,
): Promise<Uint8Array> {
  const objectKey = deriveObjectKey(provider, keyRing, provider.randomBytes(OBJECT_SALT_LENGTH));
  const target = resourceTarget(objectKey, kind, resourceId);
  const { codec, body: encoded } = await compressIfPaysAsync(body, compression);
  return concatBytes(objectKey.salt, sealEncoded(provider, target, codec, encoded));
}

/** Seal target of a resource body under `objectKey`. */
export function resourceTarget(
  objectKey: ObjectKey,
  kind: SealedResourceKind,
  resourceId: Uint8Array,
): SealTarget {
  return {
    objectKey,
    nonce: makeNonce(NonceDomain.ResourceBody, 0),
    aad: resourceBodyAad(kind, resourceId),
  };
}

/** Inverse of sealResource; throws CorruptDataError naming the resource. */
export async function openResource(
  provider: CryptoProvider,
  keyRing: KeyRing,
  kind: SealedResourceKind,
  resourceId: Uint8Array,
  bytes: Uint8Array,
  maxLength: number = DEFAULT_MAX_PAYLOAD_LENGTH,
): Promise<Uint8Array> {
  const subject = `${kind} ${toHex(resourceId)}`;
  if (bytes.length < OBJECT_SALT_LENGTH + SEAL_OVERHEAD) {
    throw new CorruptDataError(subject, `resource too short (${bytes.length} bytes)`);
  }
  const objectKey = deriveObjectKey(provider, keyRing, bytes.subarray(0, OBJECT_SALT_LENGTH));
  const target = resourceTarget(objectKey, kind, resourceId);
  return openPayloadAsync(provider, target, bytes.subarray(OBJECT_SALT_LENGTH), subject, maxLength);
}
