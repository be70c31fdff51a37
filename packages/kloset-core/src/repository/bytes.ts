/** Small helpers on byte arrays and the 64-hex-digit ids of FORMAT.md §1. */

/** Lowercase hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Bytes of a 64-hex-digit id; throws naming `what` on anything else. */
export function fromHexId(hex: string, what = 'id'): Uint8Array {
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`${what}: expected 64 lowercase hex digits, got "${hex}"`);
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/** Byte-wise equality. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Concatenation of `parts`. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
