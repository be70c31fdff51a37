/**
 * MessagePack helpers for the snapshot formats (docs/FORMAT.md, notation): standard types only (no
 * records, no extensions), integers in their smallest encoding, readers accepting any valid
 * integer encoding.
 */
import { Packr } from 'msgpackr';

/**
 * The codec used for snapshot headers, tree nodes and entries. msgpackr writes a number that does
 * not fit 32 bits as a float64, so writers pass such integers through `wideInt` first; reading
 * turns 64-bit integers back into numbers.
 */
export const packr = new Packr({
  useRecords: false,
  variableMapSize: true,
  int64AsType: 'number',
  mapsAsObjects: true,
  moreTypes: false,
});

/** Encodes a value as MessagePack. */
export function pack(value: unknown): Uint8Array {
  return packr.pack(value);
}

/** Decodes one MessagePack value. */
export function unpack(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}

/**
 * An integer ready for `pack`: numbers outside the 32-bit ranges become bigints so that msgpackr
 * writes them as 64-bit integers rather than float64.
 */
export function wideInt(n: number): number | bigint {
  if (!Number.isSafeInteger(n)) throw new Error(`not a safe integer: ${n}`);
  return n > 0xffff_ffff || n < -0x8000_0000 ? BigInt(n) : n;
}

/** A decoded map: an object with string keys. */
export type DecodedMap = Record<string, unknown>;

/** Checks that a decoded value is a map; `what` names it in the error. */
export function asMap(value: unknown, what: string): DecodedMap {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw new Error(`${what}: expected a msgpack map`);
  }
  return value as DecodedMap;
}

/** Reads an integer (any encoding); throws naming `what` otherwise. */
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

/** Reads a string. */
export function readString(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new Error(`${what}: expected a string`);
  return value;
}

/** Reads an optional string: nil or absent gives undefined. */
export function readOptString(value: unknown, what: string): string | undefined {
  return value === undefined || value === null ? undefined : readString(value, what);
}

/** Reads a bin of `length` bytes (any length when omitted). */
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
