/**
 * The store config (FORMAT.md §2): the one plaintext resource, written once at create. This module
 * encodes it, decodes and strictly validates it, and turns it plus a passphrase into a KeyRing.
 */
import { assertChunkingParams, type ChunkingParams, DEFAULT_CHUNKING } from '../chunking/fastcdc.ts';
import type { CompressionMode } from '../crypto/compression.ts';
import { PassphraseRequiredError } from '../crypto/errors.ts';
import {
  ARGON2_VERSION,
  assertKdfMinimums,
  assertKdfReadable,
  DEFAULT_KDF_COST,
  deriveKek,
  type KdfCost,
  type KdfParams,
  newKdfParams,
} from '../crypto/kdf.ts';
import { deriveKeyRing, type KeyRing } from '../crypto/key-ring.ts';
import { createMasterKey, KEY_LENGTH, unwrapKey, WRAPPED_KEY_LENGTH, wrapKey } from '../crypto/master-key.ts';
import type { CryptoProvider } from '../crypto/provider.ts';
import { decodeMsgpack, encodeMsgpack, type MsgpackValue } from '../encoding/msgpack.ts';

/** `format` of every kloset config. */
export const STORE_FORMAT = 'kloset';
/** The one store version this code reads and writes. */
export const STORE_VERSION = 1;
/** Default target packfile size: 16 MiB. */
export const DEFAULT_PACKFILE_SIZE = 16 * 1024 * 1024;
/** Accepted packfile sizes: 1 KiB .. 1 GiB. */
export const PACKFILE_SIZE_LIMITS = Object.freeze({ min: 1024, max: 1024 * 1024 * 1024 });

/** The `encryption` map of an encrypted store. */
export interface EncryptionConfig {
  readonly kdf: KdfParams;
  readonly cipher: 'aes-256-gcm';
  /** nonce(12) || AES-256-GCM(KEK, nonce, K, aad) with the tag at the end (60 bytes). */
  readonly wrappedKey: Uint8Array;
}

/** A decoded, validated config (the plaintext store's key is not part of it: see the KeyRing). */
export interface StoreConfig {
  readonly format: typeof STORE_FORMAT;
  readonly version: typeof STORE_VERSION;
  readonly storeId: Uint8Array;
  /** Creation time, Unix seconds. */
  readonly created: number;
  /** null for a plaintext store. */
  readonly encryption: EncryptionConfig | null;
  readonly chunking: ChunkingParams;
  /** Target packfile size in bytes. */
  readonly packfileSize: number;
  readonly compression: CompressionMode;
}

/** The config is not a kloset config, or a field is missing, mistyped or out of range. */
export class StoreConfigError extends Error {
  override readonly name = 'StoreConfigError';
}

interface CommonCreateOptions {
  /** Chunker sizes; missing fields take DEFAULT_CHUNKING's. */
  readonly chunking?: Partial<Omit<ChunkingParams, 'algorithm'>>;
  /** Default DEFAULT_PACKFILE_SIZE. */
  readonly packfileSize?: number;
  /** Default `zstd`. */
  readonly compression?: CompressionMode;
  /** Creation time in Unix seconds (default: now). */
  readonly created?: number;
}

/** Options of createStoreConfig: either a passphrase, or `plaintext: true`. */
export type CreateStoreOptions =
  | (CommonCreateOptions & {
      readonly passphrase: string;
      readonly plaintext?: false;
      /** Argon2id cost; missing fields take DEFAULT_KDF_COST's. Below MIN_KDF_COST needs allowWeakKdf. */
      readonly kdf?: Partial<KdfCost>;
      /** Tests only: accept a KDF cost below MIN_KDF_COST. */
      readonly allowWeakKdf?: boolean;
    })
  | (CommonCreateOptions & { readonly plaintext: true; readonly passphrase?: undefined });

/** A config and the keys it unlocks. */
export interface OpenedStoreConfig {
  readonly config: StoreConfig;
  readonly keyRing: KeyRing;
}

/** A new config: its encoded bytes (give them to Storage.create), the decoded form and the keys. */
export interface CreatedStoreConfig extends OpenedStoreConfig {
  readonly bytes: Uint8Array;
}

/**
 * Creates a new store config: random store id and master key K; K wrapped under
 * Argon2id(passphrase), or stored in clear for a plaintext store. Writers enforce the KDF minimums.
 */
export async function createStoreConfig(
  options: CreateStoreOptions,
  provider: CryptoProvider,
): Promise<CreatedStoreConfig> {
  const chunking: ChunkingParams = { ...DEFAULT_CHUNKING, ...options.chunking, algorithm: 'fastcdc-v1' };
  assertChunkingParams(chunking);
  const packfileSize = options.packfileSize ?? DEFAULT_PACKFILE_SIZE;
  checkPackfileSize(packfileSize);
  const compression = options.compression ?? 'zstd';
  if (compression !== 'zstd' && compression !== 'none')
    throw new RangeError(`unknown compression ${compression}`);
  const created = options.created ?? Math.floor(Date.now() / 1000);
  if (!Number.isSafeInteger(created) || created < 0) throw new RangeError('created must be Unix seconds');

  const storeId = provider.randomBytes(KEY_LENGTH);
  const masterKey = createMasterKey(provider);
  let encryption: EncryptionConfig | null = null;
  if (options.plaintext !== true) {
    if (typeof options.passphrase !== 'string' || options.passphrase.length === 0) {
      throw new RangeError('a non-empty passphrase is required (or create a plaintext store)');
    }
    const cost: KdfCost = { ...DEFAULT_KDF_COST, ...options.kdf };
    if (options.allowWeakKdf !== true) assertKdfMinimums(cost);
    const kdf = newKdfParams(provider, cost);
    assertKdfReadable(kdf);
    const kek = await deriveKek(provider, options.passphrase, kdf);
    encryption = { kdf, cipher: 'aes-256-gcm', wrappedKey: wrapKey(provider, kek, masterKey, storeId) };
  }
  const config: StoreConfig = {
    format: STORE_FORMAT,
    version: STORE_VERSION,
    storeId,
    created,
    encryption,
    chunking,
    packfileSize,
    compression,
  };
  const bytes = encodeStoreConfig(config, encryption === null ? masterKey : null);
  const keyRing = deriveKeyRing(provider, masterKey, storeId, { plaintext: encryption === null });
  return { bytes, config, keyRing };
}

/** The `encryption` map of the config, as stored (FORMAT.md §3.1). */
export function encryptionValue(enc: EncryptionConfig): MsgpackValue {
  return {
    kdf: {
      algorithm: enc.kdf.algorithm,
      version: enc.kdf.version,
      salt: enc.kdf.salt,
      memory_kib: enc.kdf.memoryKiB,
      passes: enc.kdf.passes,
      parallelism: enc.kdf.parallelism,
    },
    cipher: enc.cipher,
    wrapped_key: enc.wrappedKey,
  };
}

/** Encodes a config; `masterKey` must be given for a plaintext store and null otherwise. */
export function encodeStoreConfig(config: StoreConfig, masterKey: Uint8Array | null): Uint8Array {
  if ((config.encryption === null) !== (masterKey !== null)) {
    throw new RangeError('a plaintext store carries its master key; an encrypted one must not');
  }
  const enc = config.encryption;
  const value: MsgpackValue = {
    format: config.format,
    version: config.version,
    store_id: config.storeId,
    created: config.created,
    encryption: enc === null ? null : encryptionValue(enc),
    chunking: {
      algorithm: config.chunking.algorithm,
      min: config.chunking.min,
      avg: config.chunking.avg,
      max: config.chunking.max,
      normalization: config.chunking.normalization,
    },
    packfile_size: config.packfileSize,
    compression: config.compression,
    master_key: masterKey,
  };
  return encodeMsgpack(value);
}

/**
 * Opens a config: validates it and unlocks the keys. A plaintext store needs no passphrase (one given
 * is ignored); an encrypted one without a passphrase throws PassphraseRequiredError, with a wrong one
 * WrongPassphraseError. Invalid configs throw StoreConfigError (`not a kloset store`,
 * `unsupported store version N`, or `invalid store config: ...`).
 */
export async function openStoreConfig(
  bytes: Uint8Array,
  passphrase: string | undefined,
  provider: CryptoProvider,
): Promise<OpenedStoreConfig> {
  const { config, masterKey } = decodeStoreConfig(bytes);
  if (config.encryption === null) {
    return { config, keyRing: deriveKeyRing(provider, masterKey!, config.storeId, { plaintext: true }) };
  }
  if (passphrase === undefined) throw new PassphraseRequiredError();
  const kek = await deriveKek(provider, passphrase, config.encryption.kdf);
  const key = unwrapKey(provider, kek, config.encryption.wrappedKey, config.storeId);
  return { config, keyRing: deriveKeyRing(provider, key, config.storeId) };
}

// ---- Decoding and validation --------------------------------------------------------------------

type Fields = { readonly [key: string]: unknown };

const isMap = (v: unknown): v is Fields =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

function invalid(what: string): never {
  throw new StoreConfigError(`invalid store config: ${what}`);
}

function field<T>(
  map: Fields,
  key: string,
  path: string,
  check: (v: unknown) => v is T,
  expected: string,
): T {
  const v = map[key];
  if (!check(v)) invalid(`${path}${key} must be ${expected}`);
  return v;
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const isBin = (v: unknown): v is Uint8Array => v instanceof Uint8Array;
const isBin32 = (v: unknown): v is Uint8Array => v instanceof Uint8Array && v.length === 32;
const isNil = (v: unknown): v is null | undefined => v === null || v === undefined;
const copy = (b: Uint8Array) => new Uint8Array(b);

function checkPackfileSize(size: number): void {
  if (!isInt(size) || size < PACKFILE_SIZE_LIMITS.min || size > PACKFILE_SIZE_LIMITS.max) {
    throw new RangeError(
      `packfile size must be ${PACKFILE_SIZE_LIMITS.min}..${PACKFILE_SIZE_LIMITS.max} bytes`,
    );
  }
}

function rethrowAsInvalid<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof RangeError) invalid(err.message);
    throw err;
  }
}

/**
 * Decodes and validates config bytes without any key derivation (for `info`, or before asking for a
 * passphrase). `masterKey` is set for plaintext stores only.
 */
export function decodeStoreConfig(bytes: Uint8Array): {
  config: StoreConfig;
  masterKey: Uint8Array | undefined;
} {
  let raw: unknown;
  try {
    raw = decodeMsgpack(bytes);
  } catch {
    throw new StoreConfigError('not a kloset store');
  }
  if (!isMap(raw) || raw.format !== STORE_FORMAT) throw new StoreConfigError('not a kloset store');
  if (raw.version !== STORE_VERSION) {
    if (isInt(raw.version)) throw new StoreConfigError(`unsupported store version ${raw.version}`);
    throw new StoreConfigError('not a kloset store');
  }
  const storeId = copy(field(raw, 'store_id', '', isBin32, 'bin(32)'));
  const created = field(raw, 'created', '', isInt, 'an integer');
  if (created < 0) invalid('created must not be negative');

  const ch = field(raw, 'chunking', '', isMap, 'a map');
  const chunking: ChunkingParams = {
    algorithm: field(
      ch,
      'algorithm',
      'chunking.',
      (v): v is 'fastcdc-v1' => v === 'fastcdc-v1',
      '"fastcdc-v1"',
    ),
    min: field(ch, 'min', 'chunking.', isInt, 'an integer'),
    avg: field(ch, 'avg', 'chunking.', isInt, 'an integer'),
    max: field(ch, 'max', 'chunking.', isInt, 'an integer'),
    normalization: field(ch, 'normalization', 'chunking.', isInt, 'an integer'),
  };
  rethrowAsInvalid(() => assertChunkingParams(chunking));

  const packfileSize = field(raw, 'packfile_size', '', isInt, 'an integer');
  rethrowAsInvalid(() => checkPackfileSize(packfileSize));
  const compression = field(
    raw,
    'compression',
    '',
    (v): v is CompressionMode => v === 'zstd' || v === 'none',
    '"zstd" or "none"',
  );

  let encryption: EncryptionConfig | null = null;
  let masterKey: Uint8Array | undefined;
  if (isNil(raw.encryption)) {
    masterKey = copy(field(raw, 'master_key', '', isBin32, 'bin(32) in a plaintext store'));
  } else {
    const enc = field(raw, 'encryption', '', isMap, 'a map or nil');
    if (!isNil(raw.master_key)) invalid('an encrypted store must not carry master_key');
    const k = field(enc, 'kdf', 'encryption.', isMap, 'a map');
    const kdf: KdfParams = {
      algorithm: field(
        k,
        'algorithm',
        'encryption.kdf.',
        (v): v is 'argon2id' => v === 'argon2id',
        '"argon2id"',
      ),
      version: field(
        k,
        'version',
        'encryption.kdf.',
        (v): v is typeof ARGON2_VERSION => v === ARGON2_VERSION,
        `${ARGON2_VERSION}`,
      ),
      salt: copy(field(k, 'salt', 'encryption.kdf.', isBin, 'bin')),
      memoryKiB: field(k, 'memory_kib', 'encryption.kdf.', isInt, 'an integer'),
      passes: field(k, 'passes', 'encryption.kdf.', isInt, 'an integer'),
      parallelism: field(k, 'parallelism', 'encryption.kdf.', isInt, 'an integer'),
    };
    rethrowAsInvalid(() => assertKdfReadable(kdf));
    field(enc, 'cipher', 'encryption.', (v): v is 'aes-256-gcm' => v === 'aes-256-gcm', '"aes-256-gcm"');
    const wrappedKey = copy(
      field(
        enc,
        'wrapped_key',
        'encryption.',
        (v): v is Uint8Array => isBin(v) && v.length === WRAPPED_KEY_LENGTH,
        `bin(${WRAPPED_KEY_LENGTH})`,
      ),
    );
    encryption = { kdf, cipher: 'aes-256-gcm', wrappedKey };
  }
  const config: StoreConfig = {
    format: STORE_FORMAT,
    version: STORE_VERSION,
    storeId,
    created,
    encryption,
    chunking,
    packfileSize,
    compression,
  };
  return { config, masterKey };
}
