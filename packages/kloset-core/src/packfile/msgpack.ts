/**
 * MessagePack for the packfile, state and lock formats: the format's codec (format/msgpack.ts) and
 * typed readers that accept any valid integer encoding and name what they read in errors.
 */
import { decodeMsgpack, encodeMsgpack, type MsgpackValue } from '../format/msgpack.ts';

/** Encodes a value with the format's conventions (format/msgpack.ts: wide integers as int64). */
export function pack(value: MsgpackValue): Uint8Array {
  return encodeMsgpack(value);
}

/** Decodes one value; throws on malformed input. */
export function unpack(bytes: Uint8Array): unknown {
  return decodeMsgpack(bytes);
}

/** Reads a non-negative safe integer in any encoding; throws naming `what` otherwise. */
export function readUint(value: unknown, what: string): number {
  const n = typeof value === 'bigint' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw new Error(`${what}: expected a non-negative integer`);
  }
  return n;
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

/** Reads a map (decoded as a plain object). */
export function readMap(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw new Error(`${what}: expected a map`);
  }
  return value as Record<string, unknown>;
}
