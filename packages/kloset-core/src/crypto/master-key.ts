/**
 * The master key K and its wrapping under the passphrase-derived KEK (FORMAT.md §3.1). The wrapped
 * key doubles as the passphrase verifier.
 */
import { concatBytes, utf8 } from '../encoding/bytes.ts';
import { WrongPassphraseError } from './errors.ts';
import type { CryptoProvider } from './provider.ts';

/** Length of K, of every derived key, and of store ids. */
export const KEY_LENGTH = 32;
/** nonce(12) || ciphertext(32) || tag(16). */
export const WRAPPED_KEY_LENGTH = 12 + KEY_LENGTH + 16;

const WRAP_AAD_PREFIX = utf8('kloset/v1/wrapped-key');

/** 32 fresh random bytes. */
export function createMasterKey(provider: CryptoProvider): Uint8Array {
  return provider.randomBytes(KEY_LENGTH);
}

/** `"kloset/v1/wrapped-key" || store_id`. */
export function wrappedKeyAad(storeId: Uint8Array): Uint8Array {
  return concatBytes(WRAP_AAD_PREFIX, storeId);
}

/** `nonce(12, random) || AES-256-GCM(kek, nonce, masterKey, aad)`. */
export function wrapKey(
  provider: CryptoProvider,
  kek: Uint8Array,
  masterKey: Uint8Array,
  storeId: Uint8Array,
): Uint8Array {
  if (masterKey.length !== KEY_LENGTH) throw new RangeError(`master key must be ${KEY_LENGTH} bytes`);
  const nonce = provider.randomBytes(12);
  return concatBytes(nonce, provider.aesGcmSeal(kek, nonce, masterKey, wrappedKeyAad(storeId)));
}

/** Inverse of wrapKey. Any authentication failure is a WrongPassphraseError. */
export function unwrapKey(
  provider: CryptoProvider,
  kek: Uint8Array,
  wrapped: Uint8Array,
  storeId: Uint8Array,
): Uint8Array {
  if (wrapped.length !== WRAPPED_KEY_LENGTH)
    throw new RangeError(`wrapped key must be ${WRAPPED_KEY_LENGTH} bytes`);
  try {
    return provider.aesGcmOpen(kek, wrapped.subarray(0, 12), wrapped.subarray(12), wrappedKeyAad(storeId));
  } catch {
    throw new WrongPassphraseError();
  }
}
