/** A small seeded pseudo-random generator, so that tests and fault injection are reproducible. */

/**
 * Returns a function yielding numbers in [0, 1) from a 32-bit seed (mulberry32). The same seed
 * always gives the same sequence; it is not cryptographic.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
