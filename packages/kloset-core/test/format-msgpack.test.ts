import { describe, expect, it } from 'vitest';
import { toHex } from '../src/encoding/bytes.ts';
import { decodeMsgpack, encodeMsgpack, type MsgpackValue } from '../src/encoding/msgpack.ts';
import { decodeEntry } from '../src/snapshot/entry-codec.ts';
import { refDecode, walk } from './format-msgpack-reference.ts';

describe('format msgpack', () => {
  it('encodes integers as ints of the smallest width, never floats', () => {
    const cases: Array<[number, string]> = [
      [0, '00'],
      [127, '7f'],
      [128, 'cc80'],
      [65535, 'cdffff'],
      [2 ** 32 - 1, 'ceffffffff'],
      [2 ** 32, 'd30000000100000000'],
      [2 ** 53 - 1, 'd3001fffffffffffff'],
      [-1, 'ff'],
      [-33, 'd0df'],
      [-(2 ** 31), 'd280000000'],
      [-(2 ** 31) - 1, 'd3ffffffff7fffffff'],
      [-(2 ** 53) + 1, 'd3ffe0000000000001'],
    ];
    for (const [n, hex] of cases) {
      expect(toHex(encodeMsgpack(n)), String(n)).toBe(hex);
      expect(decodeMsgpack(encodeMsgpack(n))).toBe(n);
    }
  });

  it('rewrites wide integers deep inside values without touching the input', () => {
    const input = { a: [1, { t: 2 ** 40 }], b: 'x', c: new Uint8Array([1, 2]), d: null, e: true };
    const bytes = encodeMsgpack(input);
    for (const v of walk(refDecode(bytes))) expect(v.t).not.toBe('float');
    expect(decodeMsgpack(bytes)).toEqual({
      a: [1, { t: 2 ** 40 }],
      b: 'x',
      c: new Uint8Array([1, 2]),
      d: null,
      e: true,
    });
    expect((input.a[1] as { t: number }).t).toBe(2 ** 40);
  });

  it('encodes fractional numbers as float64', () => {
    expect(toHex(encodeMsgpack(1.5))).toBe('cb3ff8000000000000');
  });

  it('drops undefined map values and refuses other non-standard values', () => {
    expect(decodeMsgpack(encodeMsgpack({ a: 1, b: undefined }))).toEqual({ a: 1 });
    expect(() => encodeMsgpack([undefined] as unknown as MsgpackValue)).toThrow(/undefined at \$\[0\]/);
    expect(() => encodeMsgpack({ m: new Map() } as unknown as MsgpackValue)).toThrow(
      /unsupported object at \$.m/,
    );
    expect(() => encodeMsgpack(2 ** 60)).toThrow(/not exact/);
    expect(() => encodeMsgpack(new Uint32Array(2) as unknown as MsgpackValue)).toThrow(/unsupported/);
  });

  it('uses fixmaps for small maps and bin for bytes', () => {
    expect(toHex(encodeMsgpack({ k: new Uint8Array([7]) }))).toBe('81a16bc40107');
  });

  it('decodes integers beyond 2^53 as BigInt (so validators reject them) and refuses trailing bytes', () => {
    expect(decodeMsgpack(Uint8Array.from([0xcf, 0, 0x20, 0, 0, 0, 0, 0, 1]))).toBe(2n ** 53n + 1n);
    expect(() => decodeMsgpack(Uint8Array.from([0x01, 0x02]))).toThrow();
  });

  it('is the snapshot codec too: an entry with a size beyond 2^53 is refused, not rounded', () => {
    const entry = { path: 'a', type: 'file', size: 2n ** 53n + 1n, mtime: [0, 0] };
    expect(() => decodeEntry(encodeMsgpack(entry))).toThrow('entry a: size: integer out of range');
    expect(decodeEntry(encodeMsgpack({ ...entry, size: 2 ** 53 - 1 })).size).toBe(2 ** 53 - 1);
  });
});
