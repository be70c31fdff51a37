/**
 * Subkeys of a store (FORMAT.md §3.2) and the keyed blob id (§4.1).
 */
import { utf8 } from '../encoding/bytes.ts';
import { KEY_LENGTH } from './master-key.ts';
import type { CryptoProvider } from './provider.ts';

const INFO_MAC = utf8('kloset/v1/mac');
const INFO_ENC = utf8('kloset/v1/enc');
const INFO_GEAR = utf8('kloset/v1/chunker-gear');

/** Everything derived from K that the engines need. Treat as immutable. */
export interface KeyRing {
  /** The store id (HKDF salt for every subkey). */
  readonly storeId: Uint8Array;
  /** HMAC-SHA-256 key for every identifier. */
  readonly macKey: Uint8Array;
  /** Root of every object key (§4.2). */
  readonly encKey: Uint8Array;
  /** The chunker's keyed gear table: gear[i] = u32le(K_gear[4i .. 4i+4]). */
  readonly gear: Uint32Array;
  /** True for a plaintext store: payloads are MACed, not encrypted (§4.4). */
  readonly plaintext: boolean;
}

/** Derives the key ring from the master key K with HKDF-SHA-256, salt = store id. */
export function deriveKeyRing(
  provider: CryptoProvider,
  masterKey: Uint8Array,
  storeId: Uint8Array,
  options: { readonly plaintext?: boolean } = {},
): KeyRing {
  if (masterKey.length !== KEY_LENGTH) throw new RangeError(`master key must be ${KEY_LENGTH} bytes`);
  if (storeId.length !== KEY_LENGTH) throw new RangeError(`store id must be ${KEY_LENGTH} bytes`);
  const gearBytes = provider.hkdfSha256(masterKey, storeId, INFO_GEAR, 1024);
  const gear = new Uint32Array(256);
  const view = new DataView(gearBytes.buffer, gearBytes.byteOffset, gearBytes.byteLength);
  for (let i = 0; i < 256; i++) gear[i] = view.getUint32(4 * i, true);
  return Object.freeze({
    storeId: new Uint8Array(storeId),
    macKey: provider.hkdfSha256(masterKey, storeId, INFO_MAC, KEY_LENGTH),
    encKey: provider.hkdfSha256(masterKey, storeId, INFO_ENC, KEY_LENGTH),
    gear,
    plaintext: options.plaintext ?? false,
  });
}

/** A blob's id: HMAC-SHA-256(K_mac, plaintext), over the uncompressed data. */
export function blobId(provider: CryptoProvider, keyRing: KeyRing, data: Uint8Array): Uint8Array {
  return provider.hmacSha256(keyRing.macKey, data);
}
