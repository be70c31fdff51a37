/**
 * A minimal MessagePack reader written independently of msgpackr, for tests: it decodes into tagged
 * values so a test can see *how* each value was encoded (int vs float, which width).
 */

export type RefValue =
  | { readonly t: 'nil' }
  | { readonly t: 'bool'; readonly v: boolean }
  | { readonly t: 'int'; readonly v: bigint; readonly tag: number }
  | { readonly t: 'float'; readonly v: number; readonly tag: number }
  | { readonly t: 'str'; readonly v: string }
  | { readonly t: 'bin'; readonly v: Uint8Array }
  | { readonly t: 'array'; readonly v: RefValue[] }
  | { readonly t: 'map'; readonly v: Array<[RefValue, RefValue]> }
  | { readonly t: 'ext'; readonly tag: number };

/** Decodes one value that must span all of `bytes`. */
export function refDecode(bytes: Uint8Array): RefValue {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = 0;
  const need = (n: number) => {
    if (p + n > bytes.length) throw new Error('truncated');
  };
  const u8 = () => {
    need(1);
    return bytes[p++]!;
  };
  const take = (n: number) => {
    need(n);
    const out = bytes.subarray(p, p + n);
    p += n;
    return out;
  };
  const uint = (n: 1 | 2 | 4 | 8): bigint => {
    need(n);
    let v = 0n;
    for (let i = 0; i < n; i++) v = (v << 8n) | BigInt(bytes[p + i]!);
    p += n;
    return v;
  };
  const sint = (n: 1 | 2 | 4 | 8): bigint => {
    const u = uint(n);
    const bits = BigInt(n * 8);
    return u >= 1n << (bits - 1n) ? u - (1n << bits) : u;
  };
  const str = (n: number) => new TextDecoder('utf-8', { fatal: true }).decode(take(n));
  const items = (n: number): RefValue[] => Array.from({ length: n }, () => value());
  const pairs = (n: number): Array<[RefValue, RefValue]> =>
    Array.from({ length: n }, () => [value(), value()]);
  function value(): RefValue {
    const tag = u8();
    if (tag <= 0x7f) return { t: 'int', v: BigInt(tag), tag };
    if (tag >= 0xe0) return { t: 'int', v: BigInt(tag - 0x100), tag };
    if ((tag & 0xf0) === 0x80) return { t: 'map', v: pairs(tag & 0x0f) };
    if ((tag & 0xf0) === 0x90) return { t: 'array', v: items(tag & 0x0f) };
    if ((tag & 0xe0) === 0xa0) return { t: 'str', v: str(tag & 0x1f) };
    switch (tag) {
      case 0xc0:
        return { t: 'nil' };
      case 0xc2:
        return { t: 'bool', v: false };
      case 0xc3:
        return { t: 'bool', v: true };
      case 0xc4:
        return { t: 'bin', v: take(Number(uint(1))) };
      case 0xc5:
        return { t: 'bin', v: take(Number(uint(2))) };
      case 0xc6:
        return { t: 'bin', v: take(Number(uint(4))) };
      case 0xca: {
        need(4);
        const v = view.getFloat32(p);
        p += 4;
        return { t: 'float', v, tag };
      }
      case 0xcb: {
        need(8);
        const v = view.getFloat64(p);
        p += 8;
        return { t: 'float', v, tag };
      }
      case 0xcc:
        return { t: 'int', v: uint(1), tag };
      case 0xcd:
        return { t: 'int', v: uint(2), tag };
      case 0xce:
        return { t: 'int', v: uint(4), tag };
      case 0xcf:
        return { t: 'int', v: uint(8), tag };
      case 0xd0:
        return { t: 'int', v: sint(1), tag };
      case 0xd1:
        return { t: 'int', v: sint(2), tag };
      case 0xd2:
        return { t: 'int', v: sint(4), tag };
      case 0xd3:
        return { t: 'int', v: sint(8), tag };
      case 0xd9:
        return { t: 'str', v: str(Number(uint(1))) };
      case 0xda:
        return { t: 'str', v: str(Number(uint(2))) };
      case 0xdb:
        return { t: 'str', v: str(Number(uint(4))) };
      case 0xdc:
        return { t: 'array', v: items(Number(uint(2))) };
      case 0xdd:
        return { t: 'array', v: items(Number(uint(4))) };
      case 0xde:
        return { t: 'map', v: pairs(Number(uint(2))) };
      case 0xdf:
        return { t: 'map', v: pairs(Number(uint(4))) };
      default:
        return { t: 'ext', tag };
    }
  }
  const out = value();
  if (p !== bytes.length) throw new Error(`trailing bytes at ${p}`);
  return out;
}

/** Every value in `v`, depth first. */
export function* walk(v: RefValue): Generator<RefValue> {
  yield v;
  if (v.t === 'array') for (const item of v.v) yield* walk(item);
  if (v.t === 'map')
    for (const [k, item] of v.v) {
      yield* walk(k);
      yield* walk(item);
    }
}

/** The value under string key `key` of map `v`. */
export function refGet(v: RefValue, key: string): RefValue | undefined {
  if (v.t !== 'map') throw new Error('not a map');
  return v.v.find(([k]) => k.t === 'str' && k.v === key)?.[1];
}

/** The smallest tag an integer can be encoded with (MessagePack spec, either signedness). */
export function smallestIntSize(v: bigint): number {
  if (v >= -32n && v <= 127n) return 1;
  if (v >= -128n && v <= 255n) return 2;
  if (v >= -32768n && v <= 65535n) return 3;
  if (v >= -(2n ** 31n) && v <= 2n ** 32n - 1n) return 5;
  return 9;
}

/** Encoded size of an int with this tag. */
export function intTagSize(tag: number): number {
  if (tag <= 0x7f || tag >= 0xe0) return 1;
  return { 204: 2, 208: 2, 205: 3, 209: 3, 206: 5, 210: 5, 207: 9, 211: 9 }[tag] ?? 0;
}
