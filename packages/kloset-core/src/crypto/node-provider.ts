/**
 * CryptoProvider over node:crypto (OpenSSL): the fast path. AES-256-GCM, HMAC and HKDF run
 * natively; Argon2id uses `crypto.argon2` (Node >= 24.7, in the libuv thread pool) and falls back to
 * @noble/hashes' argon2id on older Node versions.
 */
import * as nodeCrypto from 'node:crypto';
import { allocUninitialized, asUint8Array, equalBytes } from '../encoding/bytes.ts';
import type { Argon2idParams, CryptoProvider } from './provider.ts';

const TAG_LENGTH = 16;

/**
 * KeyObjects of recently used raw keys. Creating an HMAC or cipher from a KeyObject skips key
 * import and is ~4x faster for small inputs (tree nodes, small files). Entries are keyed by the
 * array's identity, checked against a private copy of its content, and die with the array.
 */
const keyObjects = new WeakMap<
  Uint8Array,
  { readonly bytes: Uint8Array; readonly key: nodeCrypto.KeyObject }
>();

function secretKey(raw: Uint8Array): nodeCrypto.KeyObject | Uint8Array {
  if (raw.length === 0) return raw;
  const hit = keyObjects.get(raw);
  if (hit !== undefined && equalBytes(hit.bytes, raw)) return hit.key;
  const key = nodeCrypto.createSecretKey(raw);
  keyObjects.set(raw, { bytes: new Uint8Array(raw), key });
  return key;
}

type NodeArgon2 = (
  algorithm: 'argon2id',
  parameters: {
    message: Uint8Array;
    nonce: Uint8Array;
    parallelism: number;
    tagLength: number;
    memory: number;
    passes: number;
  },
  callback: (err: Error | null, derivedKey: Buffer) => void,
) => void;

/** `crypto.argon2` when this Node has it (>= 24.7), else undefined. */
function nativeArgon2(): NodeArgon2 | undefined {
  const candidate: unknown = (nodeCrypto as { argon2?: unknown }).argon2;
  return typeof candidate === 'function' ? (candidate as NodeArgon2) : undefined;
}

async function nobleArgon2id(
  password: Uint8Array,
  salt: Uint8Array,
  params: Argon2idParams,
): Promise<Uint8Array> {
  const { argon2idAsync } = await import('@noble/hashes/argon2.js');
  return argon2idAsync(password, salt, {
    t: params.passes,
    m: params.memoryKiB,
    p: params.parallelism,
    dkLen: params.tagLength,
    version: 0x13,
  });
}

function nodeArgon2id(native: NodeArgon2) {
  return (password: Uint8Array, salt: Uint8Array, params: Argon2idParams): Promise<Uint8Array> =>
    new Promise((resolve, reject) => {
      native(
        'argon2id',
        {
          message: password,
          nonce: salt,
          parallelism: params.parallelism,
          tagLength: params.tagLength,
          memory: params.memoryKiB,
          passes: params.passes,
        },
        (err, key) => (err ? reject(err) : resolve(asUint8Array(key))),
      );
    });
}

/**
 * Cipher input per `update` call. Each call returns a new buffer as long as its input: feeding a
 * 1 MiB payload in one call allocates 1 MiB that is copied once more and dropped, which on small
 * VMs costs more than the encryption (page faults, GC of external memory: 1.7 s of CPU per GiB
 * against 0.6 s in 64 KiB slices). Slices this size come from malloc's heap and die young; 64 KiB
 * rather than 16 KiB: a quarter of the calls (restore of 1.4 GB: ~0.4 s less CPU).
 */
const CIPHER_SLICE = 64 * 1024;

/** Runs `cipher` over `parts` in slices, writing its output into `out` from 0; returns the length. */
function cipherInto(
  cipher: nodeCrypto.Cipheriv | nodeCrypto.Decipheriv,
  parts: readonly Uint8Array[],
  out: Uint8Array,
): number {
  let offset = 0;
  for (const part of parts) {
    for (let at = 0; at < part.length; at += CIPHER_SLICE) {
      const piece = cipher.update(part.subarray(at, at + CIPHER_SLICE));
      out.set(piece, offset);
      offset += piece.length;
    }
  }
  return offset;
}

function aesGcmSeal(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array | readonly Uint8Array[],
  aad: Uint8Array,
): Uint8Array {
  const cipher = nodeCrypto.createCipheriv('aes-256-gcm', secretKey(key), nonce, {
    authTagLength: TAG_LENGTH,
  });
  cipher.setAAD(aad);
  const parts = plaintext instanceof Uint8Array ? [plaintext] : plaintext;
  let length = TAG_LENGTH;
  for (const part of parts) length += part.length;
  // GCM is a stream mode: the ciphertext is as long as the plaintext, and `final` adds nothing.
  const sealed = allocUninitialized(length);
  let offset = cipherInto(cipher, parts, sealed);
  const last = cipher.final();
  sealed.set(last, offset);
  offset += last.length;
  sealed.set(cipher.getAuthTag(), offset);
  if (offset + TAG_LENGTH !== length) throw new Error('AES-GCM output length differs from its input length');
  return sealed;
}

/**
 * aesGcmSeal as parts: the ciphertext of each plaintext part as `update` returns it (one buffer
 * each, no slicing, no copy into one output), then the tag. For writers that gather parts anyway
 * (packfiles): a 1 MiB blob costs one 1 MiB allocation instead of 64 slices plus the output.
 */
function aesGcmSealParts(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: readonly Uint8Array[],
  aad: Uint8Array,
): Uint8Array[] {
  const cipher = nodeCrypto.createCipheriv('aes-256-gcm', secretKey(key), nonce, {
    authTagLength: TAG_LENGTH,
  });
  cipher.setAAD(aad);
  const out: Uint8Array[] = [];
  for (const part of plaintext) {
    const c = cipher.update(part);
    if (c.length !== part.length) throw new Error('AES-GCM output length differs from its input length');
    if (c.length > 0) out.push(c);
  }
  if (cipher.final().length !== 0) throw new Error('AES-GCM final output is not empty');
  out.push(cipher.getAuthTag());
  return out;
}

/** Decrypts `sealed` into `out` (its first `length - 16` bytes); throws when authentication fails. */
function gcmOpenInto(
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Uint8Array,
  aad: Uint8Array,
  out: Uint8Array,
) {
  if (sealed.length < TAG_LENGTH) throw new Error('sealed data shorter than the GCM tag');
  const split = sealed.length - TAG_LENGTH;
  const decipher = nodeCrypto.createDecipheriv('aes-256-gcm', secretKey(key), nonce, {
    authTagLength: TAG_LENGTH,
  });
  decipher.setAAD(aad);
  // A copy of the tag: `out` may be `sealed` itself (in place). Each slice of ciphertext is consumed
  // by `update` before its plaintext is written at the same place.
  decipher.setAuthTag(sealed.slice(split));
  const plain = out.subarray(0, split);
  const offset = cipherInto(decipher, [sealed.subarray(0, split)], plain);
  const last = decipher.final(); // throws when authentication fails
  plain.set(last, offset);
  if (offset + last.length !== split) throw new Error('AES-GCM output length differs from its input length');
  return plain;
}

function aesGcmOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array {
  return gcmOpenInto(key, nonce, sealed, aad, allocUninitialized(Math.max(0, sealed.length - TAG_LENGTH)));
}

function aesGcmOpenInPlace(
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Uint8Array,
  aad: Uint8Array,
): Uint8Array {
  return gcmOpenInto(key, nonce, sealed, aad, sealed);
}

/** Options of createNodeCryptoProvider. */
export interface NodeCryptoProviderOptions {
  /**
   * Use `crypto.argon2` when this Node has it (default true). False forces the @noble fallback
   * that Node < 24.7 gets (for tests).
   */
  readonly nativeArgon2?: boolean;
}

/** A node:crypto provider; `nodeCryptoProvider` is the default one. */
export function createNodeCryptoProvider(options: NodeCryptoProviderOptions = {}): CryptoProvider {
  const native = options.nativeArgon2 === false ? undefined : nativeArgon2();
  return {
    name: native === undefined ? 'node:crypto (argon2id from @noble)' : 'node:crypto',
    randomBytes: (length) => asUint8Array(nodeCrypto.randomBytes(length)),
    sha256: (data) => asUint8Array(nodeCrypto.createHash('sha256').update(data).digest()),
    hmacSha256(key, ...data) {
      const mac = nodeCrypto.createHmac('sha256', secretKey(key));
      for (const part of data) mac.update(part);
      return asUint8Array(mac.digest());
    },
    hkdfSha256: (ikm, salt, info, length) =>
      // The input key as a cached KeyObject: node:crypto converts raw bytes on every call.
      new Uint8Array(nodeCrypto.hkdfSync('sha256', secretKey(ikm), salt, info, length)),
    argon2id: native === undefined ? nobleArgon2id : nodeArgon2id(native),
    aesGcmSeal,
    aesGcmSealParts,
    aesGcmOpen,
    aesGcmOpenInPlace,
  };
}

/** The node:crypto provider (stateless; share it). */
export const nodeCryptoProvider: CryptoProvider = createNodeCryptoProvider();
