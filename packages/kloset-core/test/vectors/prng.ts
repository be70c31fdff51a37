/**
 * The pseudo-random input of the test vectors (FORMAT.md §11): xorshift32 (Marsaglia 2003).
 *
 *     x = seed                                  (u32, non-zero)
 *     repeat: x ^= x << 13; x ^= x >>> 17; x ^= x << 5   (mod 2^32)
 *             output u32le(x)
 *
 * The first output word is the state after one step (the seed itself is not output).
 */

/** Seed of the chunking vectors' input: ASCII "klos" read big-endian. */
export const VECTOR_PRNG_SEED = 0x6b6c6f73;

/** `length` bytes (a multiple of 4) of the xorshift32 stream from `seed`. */
export function xorshift32Bytes(seed: number, length: number): Uint8Array {
  if (length % 4 !== 0) throw new RangeError('length must be a multiple of 4');
  if (seed >>> 0 === 0) throw new RangeError('seed must be non-zero');
  const out = new Uint8Array(length);
  const words = new Uint32Array(out.buffer);
  const littleEndian = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;
  let x = seed >>> 0;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    words[i] = littleEndian
      ? x
      : ((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24);
  }
  return out;
}
