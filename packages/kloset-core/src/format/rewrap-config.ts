/**
 * Passphrase change (FORMAT.md §3.1): the same master key K wrapped under a key derived from a new
 * passphrase, with a new KDF salt. Only the config's `encryption` map changes; every other key of
 * the config, known or not, is kept as it was, and no other resource is touched.
 */
import { DEFAULT_KDF_COST, deriveKek, type KdfCost, newKdfParams } from '../crypto/kdf.ts';
import { unwrapKey, wrapKey } from '../crypto/master-key.ts';
import type { CryptoProvider } from '../crypto/provider.ts';
import { decodeMsgpack, encodeMsgpack, type MsgpackValue } from '../encoding/msgpack.ts';
import { decodeStoreConfig, type EncryptionConfig, encryptionValue, StoreConfigError } from './config.ts';

/** A passphrase change that is refused before anything is written (plaintext store, same passphrase). */
export class PassphraseChangeError extends Error {
  override readonly name = 'PassphraseChangeError';
}

/** Options of rewrapStoreConfig. */
export interface RewrapOptions {
  /** Argon2id cost of the new wrapping. Default: the store's own cost, raised to DEFAULT_KDF_COST. */
  readonly kdf?: KdfCost;
}

/** The higher of each of the two costs: a passphrase change never weakens the KDF. */
function atLeastDefault(cost: KdfCost): KdfCost {
  return {
    memoryKiB: Math.max(cost.memoryKiB, DEFAULT_KDF_COST.memoryKiB),
    passes: Math.max(cost.passes, DEFAULT_KDF_COST.passes),
    parallelism: Math.max(cost.parallelism, DEFAULT_KDF_COST.parallelism),
  };
}

/**
 * The config `bytes` with K unwrapped by `passphrase` (WrongPassphraseError if it does not open)
 * and wrapped again under `newPassphrase`. Throws PassphraseChangeError for a plaintext store, an
 * empty new passphrase or one equal to the current one (nothing would change but the salt).
 */
export async function rewrapStoreConfig(
  bytes: Uint8Array,
  passphrase: string,
  newPassphrase: string,
  provider: CryptoProvider,
  options: RewrapOptions = {},
): Promise<Uint8Array> {
  const { config } = decodeStoreConfig(bytes);
  const enc = config.encryption;
  if (enc === null) throw new PassphraseChangeError('this store is not encrypted: it has no passphrase');
  if (newPassphrase.length === 0) throw new PassphraseChangeError('the new passphrase cannot be empty');
  if (newPassphrase === passphrase) {
    throw new PassphraseChangeError('the new passphrase is the same as the current one');
  }
  const masterKey = unwrapKey(
    provider,
    await deriveKek(provider, passphrase, enc.kdf),
    enc.wrappedKey,
    config.storeId,
  );
  const kdf = newKdfParams(provider, options.kdf ?? atLeastDefault(enc.kdf));
  const kek = await deriveKek(provider, newPassphrase, kdf);
  const encryption: EncryptionConfig = {
    kdf,
    cipher: 'aes-256-gcm',
    wrappedKey: wrapKey(provider, kek, masterKey, config.storeId),
  };
  masterKey.fill(0);
  // decodeStoreConfig accepted it: a msgpack map with string keys.
  const raw = decodeMsgpack(bytes) as { readonly [key: string]: MsgpackValue | undefined };
  const out = encodeMsgpack({ ...raw, encryption: encryptionValue(encryption) });
  const check = decodeStoreConfig(out).config;
  if (Buffer.compare(check.storeId, config.storeId) !== 0 || check.encryption === null) {
    throw new StoreConfigError(
      'invalid store config: the rewrapped config does not decode as the same store',
    );
  }
  return out;
}
