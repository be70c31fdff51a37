/**
 * Object keys of packfiles, derived once: a restore opens ~10k blobs of a few hundred packfiles,
 * and each derivation (HKDF) and each new key's KeyObject costs node:crypto ~10-20 us (scale-1
 * restore: ~0.2 s of CPU). Bounded: the `limit` most recently derived keys are kept.
 */
import { toHex } from '../encoding/bytes.ts';
import type { KeyRing } from './key-ring.ts';
import type { CryptoProvider } from './provider.ts';
import { deriveObjectKey, type ObjectKey } from './seal.ts';

export class ObjectKeyCache {
  readonly #limit: number;
  /** By hex of the encryption key and of the salt, in insertion order (oldest first). */
  readonly #keys = new Map<string, ObjectKey>();

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** deriveObjectKey(provider, keyRing, salt), the same object for the same inputs while cached. */
  get(provider: CryptoProvider, keyRing: Pick<KeyRing, 'encKey' | 'plaintext'>, salt: Uint8Array): ObjectKey {
    const id = `${keyRing.plaintext ? 'p' : 'e'}${toHex(keyRing.encKey)}:${toHex(salt)}`;
    const hit = this.#keys.get(id);
    if (hit !== undefined) return hit;
    const key = deriveObjectKey(provider, keyRing, salt);
    if (this.#keys.size >= this.#limit) this.#keys.delete(this.#keys.keys().next().value!);
    this.#keys.set(id, key);
    return key;
  }
}
