/** Deterministic test data: the same arguments always give the same bytes and ids. */
import { seededRandom } from '../wrappers/seeded-random.ts';

/** `length` pseudo-random bytes derived from `seed`. */
export function deterministicBytes(seed: number, length: number): Uint8Array {
  const next = seededRandom(seed);
  const out = new Uint8Array(length);
  let i = 0;
  for (; i + 4 <= length; i += 4) {
    const v = Math.floor(next() * 4294967296);
    out[i] = v & 0xff;
    out[i + 1] = (v >>> 8) & 0xff;
    out[i + 2] = (v >>> 16) & 0xff;
    out[i + 3] = (v >>> 24) & 0xff;
  }
  for (; i < length; i++) out[i] = Math.floor(next() * 256);
  return out;
}

/** A valid resource id (64 lowercase hex characters) derived from `n`: distinct `n`, distinct ids. */
export function testResourceId(n: number): string {
  const prefix = (n >>> 0).toString(16).padStart(8, '0');
  const rest = deterministicBytes(n, 28);
  return Buffer.from(rest).toString('hex') + prefix;
}
