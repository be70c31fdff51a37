/**
 * MessagePack as the format uses it (FORMAT.md, Notation): maps with string keys, standard types
 * only (no extension types, no records), integers always as MessagePack integers.
 *
 * msgpackr writes integers outside [-2^31, 2^32) as float64; `encodeMsgpack` turns such integers
 * into BigInt first, which msgpackr writes as int64 (0xd3), the same size as uint64. Object keys
 * whose value is `undefined` are left out; `undefined` anywhere else is an error.
 * `decodeMsgpack` returns maps as plain objects, bin as Uint8Array (possibly views of the input),
 * integers as numbers, except integers beyond +-2^53 which come back as BigInt (validators reject them).
 * Every format (config, packfile index, state, lock, snapshot header, tree node, entry) uses this
 * codec; msgpack-readers.ts reads the decoded values.
 */
// 'msgpackr/pack' is msgpackr's pure JavaScript build: the main entry first loads a native
// string-decoding addon (msgpackr-extract, with a libc probe), about 50 ms of every command's start,
// for strings far shorter than the sizes where it pays.
import { Packr } from 'msgpackr/pack';
import { asUint8Array } from '../encoding/bytes.ts';

/** Values that encode to standard MessagePack. */
export type MsgpackValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | readonly MsgpackValue[]
  | { readonly [key: string]: MsgpackValue | undefined };

const packr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  variableMapSize: true,
  // 'auto' (numbers within +-2^53, BigInt beyond) is supported at runtime but missing from the typings.
  int64AsType: 'auto' as string as 'number',
  useFloat32: 0,
});

const INT32_MIN = -0x8000_0000;
const UINT32_MAX = 0xffff_ffff;

function isPlainObject(value: object): value is { readonly [key: string]: MsgpackValue | undefined } {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Whether `value` encodes correctly as is (no wide integer numbers, no `undefined`, only plain
 * objects): the common case, checked without allocating; `prepare` handles the rest.
 */
function isReady(value: MsgpackValue | undefined): boolean {
  switch (typeof value) {
    case 'number':
      return !Number.isInteger(value) || (value >= INT32_MIN && value <= UINT32_MAX);
    case 'string':
    case 'boolean':
    case 'bigint':
      return true;
    case 'object': {
      if (value === null || value instanceof Uint8Array) return true;
      if (Array.isArray(value)) {
        const items = value as readonly MsgpackValue[];
        for (let i = 0; i < items.length; i++) if (!isReady(items[i])) return false;
        return true;
      }
      if (!isPlainObject(value)) return false;
      for (const key in value) {
        if (!Object.hasOwn(value, key)) return false;
        const item = value[key];
        if (item === undefined || !isReady(item)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

/** Returns `value` itself when it encodes correctly as is, else a copy that does. */
function prepare(value: MsgpackValue | undefined, path: string): MsgpackValue {
  switch (typeof value) {
    case 'number':
      if (Number.isInteger(value) && (value < INT32_MIN || value > UINT32_MAX)) {
        if (!Number.isSafeInteger(value))
          throw new RangeError(`msgpack: integer ${value} at ${path} is not exact`);
        return BigInt(value);
      }
      return value;
    case 'string':
    case 'boolean':
    case 'bigint':
      return value;
    case 'undefined':
      throw new TypeError(`msgpack: undefined at ${path}`);
    case 'object': {
      if (value === null || value instanceof Uint8Array) return value;
      if (Array.isArray(value)) {
        const items = value as readonly MsgpackValue[];
        let out: MsgpackValue[] | undefined;
        for (let i = 0; i < items.length; i++) {
          const item = items[i];
          const prepared = prepare(item, `${path}[${i}]`);
          if (prepared !== item && out === undefined) out = items.slice(0, i);
          out?.push(prepared);
        }
        return out ?? items;
      }
      if (!isPlainObject(value)) throw new TypeError(`msgpack: unsupported object at ${path}`);
      let out: Record<string, MsgpackValue> | undefined;
      const keys = Object.keys(value);
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        const item = value[key];
        const prepared = item === undefined ? undefined : prepare(item, `${path}.${key}`);
        if (prepared !== item && out === undefined) {
          out = {};
          for (let j = 0; j < i; j++) out[keys[j]!] = value[keys[j]!] as MsgpackValue;
        }
        if (out !== undefined && prepared !== undefined) out[key] = prepared;
      }
      return out ?? value;
    }
    default:
      throw new TypeError(`msgpack: unsupported ${typeof value} at ${path}`);
  }
}

/** Encodes `value` as standard MessagePack (see module comment). */
export function encodeMsgpack(value: MsgpackValue): Uint8Array {
  return asUint8Array(packr.pack(isReady(value) ? value : prepare(value, '$')));
}

/** Decodes exactly one MessagePack value filling all of `bytes`; throws on anything else. */
export function decodeMsgpack(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}

/**
 * `n` checked to be a safe integer (throws otherwise), as `encodeMsgpack` takes it; numbers outside
 * the 32-bit ranges become bigints, which encode as 64-bit integers.
 */
export function wideInt(n: number): number | bigint {
  if (!Number.isSafeInteger(n)) throw new Error(`not a safe integer: ${n}`);
  return n > UINT32_MAX || n < INT32_MIN ? BigInt(n) : n;
}
