/**
 * Small byte helpers shared by every module: UTF-8, hexadecimal (and the 64-hex-digit ids of
 * FORMAT.md §1), concatenation, comparison, big-endian integers. Everything works on plain
 * Uint8Array; nothing here allocates more than the result.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 bytes of `text` (no Unicode normalization). */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Decodes strict UTF-8; throws on invalid sequences. */
export function fromUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** Concatenation of `parts` into one new array. */
export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Lowercase hexadecimal. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Parses hexadecimal (pairs of digits, either case); throws naming `what` on anything else. */
export function fromHex(text: string, what = 'hex string'): Uint8Array {
  if (!/^(?:[0-9a-f]{2})*$/i.test(text)) throw new Error(`${what}: not hexadecimal: ${JSON.stringify(text)}`);
  return new Uint8Array(Buffer.from(text, 'hex'));
}

/** Bytes of a 64-hex-digit id (lowercase); throws naming `what` on anything else. */
export function fromHexId(hex: string, what = 'id'): Uint8Array {
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`${what}: expected 64 lowercase hex digits, got "${hex}"`);
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/**
 * A plain Uint8Array view of the same memory as `bytes` (no copy). Node Buffers are Uint8Arrays
 * whose `slice` does not copy; returning plain views keeps that surprise out of callers' hands.
 */
export function asUint8Array(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * A new array of `length` bytes whose content is unspecified: callers must overwrite all of it.
 * Large arrays skip the zero-fill; every array owns its whole ArrayBuffer (no shared pool).
 */
export function allocUninitialized(length: number): Uint8Array {
  return length < 4096
    ? new Uint8Array(length)
    : new Uint8Array(Buffer.allocUnsafeSlow(length).buffer, 0, length);
}

/** Byte-wise equality in time that depends only on the lengths. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Writes `value` (0 <= value < 2^53) as 8 big-endian bytes at `offset`. */
export function writeU64be(target: Uint8Array, offset: number, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`not a u64 value: ${value}`);
  const hi = Math.floor(value / 0x1_0000_0000);
  const lo = value >>> 0;
  writeU32be(target, offset, hi);
  writeU32be(target, offset + 4, lo);
}

/** Writes `value` (0 <= value < 2^32) as 4 big-endian bytes at `offset`. */
export function writeU32be(target: Uint8Array, offset: number, value: number): void {
  target[offset] = value >>> 24;
  target[offset + 1] = (value >>> 16) & 0xff;
  target[offset + 2] = (value >>> 8) & 0xff;
  target[offset + 3] = value & 0xff;
}
