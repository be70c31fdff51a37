/**
 * The primitives kloset needs, behind one interface so that two implementations (node:crypto /
 * OpenSSL for speed, @noble for portability) can be proven byte-identical by shared test vectors.
 * All functions are deterministic except `randomBytes`.
 */
export interface Argon2idParams {
  readonly memoryKiB: number;
  readonly passes: number;
  readonly parallelism: number;
  /** Output length in bytes. */
  readonly tagLength: number;
}

/** The primitives, implemented by node-provider.ts and noble-provider.ts. */
export interface CryptoProvider {
  readonly name: string;
  randomBytes(length: number): Uint8Array;
  sha256(data: Uint8Array): Uint8Array;
  hmacSha256(key: Uint8Array, ...data: Uint8Array[]): Uint8Array;
  /** RFC 5869 HKDF with SHA-256. */
  hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array;
  argon2id(password: Uint8Array, salt: Uint8Array, params: Argon2idParams): Promise<Uint8Array>;
  /**
   * AES-256-GCM with a 12-byte nonce; returns ciphertext || 16-byte tag. The plaintext may be given
   * in parts (sealed as their concatenation) so callers can prepend a header without copying.
   */
  aesGcmSeal(
    key: Uint8Array,
    nonce: Uint8Array,
    plaintext: Uint8Array | readonly Uint8Array[],
    aad: Uint8Array,
  ): Uint8Array;
  /**
   * aesGcmSeal giving its output as parts whose concatenation is exactly aesGcmSeal's output
   * (`ciphertext || tag`), for callers that write parts anyway. Optional: callers fall back to
   * aesGcmSeal.
   */
  aesGcmSealParts?(
    key: Uint8Array,
    nonce: Uint8Array,
    plaintext: readonly Uint8Array[],
    aad: Uint8Array,
  ): Uint8Array[];
  /** Inverse of aesGcmSeal; throws (any error) when authentication fails. */
  aesGcmOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array;
  /**
   * aesGcmOpen writing the plaintext over the ciphertext: returns a view of `sealed` (its first
   * `length - 16` bytes), whose content is undefined if authentication fails (it throws). Saves
   * allocating and copying a plaintext buffer per payload. Optional: callers fall back to aesGcmOpen.
   */
  aesGcmOpenInPlace?(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array;
}
