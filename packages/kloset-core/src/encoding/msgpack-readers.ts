/**
 * Typed readers of decoded MessagePack values (msgpack.ts `decodeMsgpack`): each accepts any valid
 * encoding of its type (e.g. an integer in any width) and throws naming `what` it read otherwise.
 */

/** A decoded map: an object with string keys. */
export type DecodedMap = Record<string, unknown>;

/** Reads a map (decoded as a plain object). */
export function readMap(value: unknown, what: string): DecodedMap {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw new Error(`${what}: expected a map`);
  }
  return value as DecodedMap;
}

/** Reads an integer within +-2^53 (any encoding). */
export function readInt(value: unknown, what: string): number {
  if (typeof value === 'bigint') {
    const n = Number(value);
    if (!Number.isSafeInteger(n)) throw new Error(`${what}: integer out of range`);
    return n;
  }
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new Error(`${what}: expected an integer`);
  return value;
}

/** Reads an optional integer: nil or absent gives undefined. */
export function readOptInt(value: unknown, what: string): number | undefined {
  return value === undefined || value === null ? undefined : readInt(value, what);
}

/** Reads a non-negative safe integer (any encoding). */
export function readUint(value: unknown, what: string): number {
  const n = typeof value === 'bigint' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw new Error(`${what}: expected a non-negative integer`);
  }
  return n;
}

/** Reads a string. */
export function readString(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new Error(`${what}: expected a string`);
  return value;
}

/** Reads an optional string: nil or absent gives undefined. */
export function readOptString(value: unknown, what: string): string | undefined {
  return value === undefined || value === null ? undefined : readString(value, what);
}

/** Reads a bin of exactly `length` bytes (any length when omitted). */
export function readBin(value: unknown, what: string, length?: number): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new Error(`${what}: expected bin`);
  if (length !== undefined && value.length !== length) {
    throw new Error(`${what}: expected ${length} bytes, got ${value.length}`);
  }
  return value;
}

/** Reads an array. */
export function readArray(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`${what}: expected an array`);
  return value;
}
