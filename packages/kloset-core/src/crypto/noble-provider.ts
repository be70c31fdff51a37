/**
 * CryptoProvider over @noble/hashes and @noble/ciphers: pure JavaScript, portable, audited, and
 * about 30x slower than node:crypto for AES-GCM. It exists to prove the format does not depend on
 * OpenSSL (both providers pass the same test vectors) and for runtimes without node:crypto.
 */
import { gcm } from '@noble/ciphers/aes.js';
import { argon2idAsync } from '@noble/hashes/argon2.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { concatBytes } from '../encoding/bytes.ts';
import type { CryptoProvider } from './provider.ts';

/** The @noble provider (stateless; share it). */
export const nobleCryptoProvider: CryptoProvider = {
  name: '@noble',
  randomBytes: (length) => randomBytes(length),
  sha256: (data) => sha256(data),
  hmacSha256(key, ...data) {
    const mac = hmac.create(sha256, key);
    for (const part of data) mac.update(part);
    return mac.digest();
  },
  hkdfSha256: (ikm, salt, info, length) => hkdf(sha256, ikm, salt, info, length),
  argon2id: (password, salt, params) =>
    argon2idAsync(password, salt, {
      t: params.passes,
      m: params.memoryKiB,
      p: params.parallelism,
      dkLen: params.tagLength,
      version: 0x13,
    }),
  aesGcmSeal(key, nonce, plaintext, aad) {
    const data = plaintext instanceof Uint8Array ? plaintext : concatBytes(...plaintext);
    return gcm(key, nonce, aad).encrypt(data);
  },
  aesGcmOpen: (key, nonce, sealed, aad) => gcm(key, nonce, aad).decrypt(sealed),
};
