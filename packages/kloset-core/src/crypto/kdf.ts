/**
 * Passphrase to key-encryption key (FORMAT.md §3.1): Argon2id with parameters kept in the config.
 */
import { utf8 } from '../encoding/bytes.ts';
import type { CryptoProvider } from './provider.ts';

/** Argon2 version 0x13 (1.3), the only one kloset writes or reads. */
export const ARGON2_VERSION = 19;
/** Salt length kloset writes. */
export const KDF_SALT_LENGTH = 16;

/** The cost part of the KDF parameters. */
export interface KdfCost {
  /** Memory in KiB (Argon2 `m`). */
  readonly memoryKiB: number;
  /** Passes over memory (Argon2 `t`). */
  readonly passes: number;
  /** Lanes (Argon2 `p`). */
  readonly parallelism: number;
}

/** Everything needed to re-derive the key-encryption key from a passphrase (config `encryption.kdf`). */
export interface KdfParams extends KdfCost {
  readonly algorithm: 'argon2id';
  readonly version: typeof ARGON2_VERSION;
  readonly salt: Uint8Array;
}

/** What new stores use: 64 MiB, 3 passes, 1 lane. */
export const DEFAULT_KDF_COST: KdfCost = Object.freeze({ memoryKiB: 65536, passes: 3, parallelism: 1 });
/** The weakest cost a writer accepts for a new store (unless explicitly told to allow weaker, for tests). */
export const MIN_KDF_COST: KdfCost = DEFAULT_KDF_COST;

/**
 * Bounds a reader accepts (a hostile config must not make us allocate terabytes). Stores written
 * with test parameters below MIN_KDF_COST are still readable.
 */
export const KDF_READ_LIMITS = Object.freeze({
  saltMin: 8,
  saltMax: 64,
  memoryKiBMax: 4 * 1024 * 1024,
  passesMax: 64,
  parallelismMax: 16,
});

/** Throws (one line) when `cost` is below MIN_KDF_COST. */
export function assertKdfMinimums(cost: KdfCost): void {
  if (
    cost.memoryKiB < MIN_KDF_COST.memoryKiB ||
    cost.passes < MIN_KDF_COST.passes ||
    cost.parallelism < MIN_KDF_COST.parallelism
  ) {
    throw new RangeError(
      `KDF parameters too weak: at least ${MIN_KDF_COST.memoryKiB} KiB, ${MIN_KDF_COST.passes} passes, ` +
        `parallelism ${MIN_KDF_COST.parallelism} (got ${cost.memoryKiB} KiB, ${cost.passes}, ${cost.parallelism})`,
    );
  }
}

/**
 * Throws (one line) when `params` is outside what any reader accepts: salt 8..64 bytes,
 * 1 <= passes <= 64, 1 <= parallelism <= 16, 8*parallelism <= memoryKiB <= 4 GiB.
 */
export function assertKdfReadable(params: KdfParams): void {
  const l = KDF_READ_LIMITS;
  const int = (v: number, lo: number, hi: number) => Number.isSafeInteger(v) && v >= lo && v <= hi;
  if (params.algorithm !== 'argon2id') throw new RangeError(`unsupported KDF ${String(params.algorithm)}`);
  if (params.version !== ARGON2_VERSION) throw new RangeError(`unsupported Argon2 version ${params.version}`);
  if (
    !(params.salt instanceof Uint8Array) ||
    params.salt.length < l.saltMin ||
    params.salt.length > l.saltMax
  ) {
    throw new RangeError(`KDF salt must be ${l.saltMin}..${l.saltMax} bytes`);
  }
  if (!int(params.parallelism, 1, l.parallelismMax)) throw new RangeError('KDF parallelism out of range');
  if (!int(params.passes, 1, l.passesMax)) throw new RangeError('KDF passes out of range');
  if (!int(params.memoryKiB, 8 * params.parallelism, l.memoryKiBMax)) {
    throw new RangeError('KDF memory out of range');
  }
}

/** Fresh KDF parameters (random 16-byte salt) with the given cost. */
export function newKdfParams(provider: CryptoProvider, cost: KdfCost = DEFAULT_KDF_COST): KdfParams {
  return {
    algorithm: 'argon2id',
    version: ARGON2_VERSION,
    salt: provider.randomBytes(KDF_SALT_LENGTH),
    memoryKiB: cost.memoryKiB,
    passes: cost.passes,
    parallelism: cost.parallelism,
  };
}

/** KEK = Argon2id(UTF-8 passphrase, salt, m, t, p, taglen 32), passphrase taken exactly as given. */
export function deriveKek(
  provider: CryptoProvider,
  passphrase: string,
  params: KdfParams,
): Promise<Uint8Array> {
  assertKdfReadable(params);
  return provider.argon2id(utf8(passphrase), params.salt, {
    memoryKiB: params.memoryKiB,
    passes: params.passes,
    parallelism: params.parallelism,
    tagLength: 32,
  });
}
