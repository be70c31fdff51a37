import { escapedNameBytes, isValidComponent, nameFromBytes } from '@kloset/connector-contract';
import { describe, expect, it } from 'vitest';

const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));

describe('nameFromBytes / escapedNameBytes', () => {
  it('gives valid UTF-8 names unchanged, not escaped', () => {
    for (const s of [
      'plain.txt',
      'héllo wörld ✓',
      '空.txt',
      '\u{1F600}',
      '\uFEFFbom',
      '\uFFFD',
      '\uEF7F\uF000',
    ]) {
      expect(nameFromBytes(Buffer.from(s))).toEqual({ name: s, escaped: false });
    }
  });

  it('writes each byte that is not UTF-8 as U+EF00 + byte', () => {
    expect(nameFromBytes(bytes('caf', [0xe9], '.txt'))).toEqual({ name: 'caf\uEFE9.txt', escaped: true });
    expect(nameFromBytes(bytes([0xff, 0xfe]))).toEqual({ name: '\uEFFF\uEFFE', escaped: true });
    // A truncated sequence, an overlong '/', a surrogate, a code point past U+10FFFF.
    expect(nameFromBytes(bytes('a', [0xe2, 0x9c])).name).toBe('a\uEFE2\uEF9C');
    expect(nameFromBytes(bytes([0xc0, 0xaf])).name).toBe('\uEFC0\uEFAF');
    expect(nameFromBytes(bytes([0xed, 0xa0, 0x80])).name).toBe('\uEFED\uEFA0\uEF80');
    expect(nameFromBytes(bytes([0xf4, 0x90, 0x80, 0x80])).name).toBe('\uEFF4\uEF90\uEF80\uEF80');
    // Valid sequences around an invalid byte stay decoded.
    expect(nameFromBytes(bytes('✓', [0xe9], 'é')).name).toBe('✓\uEFE9é');
  });

  it('escapes a valid name holding a code point of the escape range, so that two byte strings never collide', () => {
    const literal = Buffer.from('caf\uEFE9.txt'); // valid UTF-8: U+EFE9 is EE BF A9
    const latin1 = bytes('caf', [0xe9], '.txt');
    const a = nameFromBytes(literal);
    const b = nameFromBytes(latin1);
    expect(a.escaped).toBe(true);
    expect(a.name).toBe('caf\uEFEE\uEFBF\uEFA9.txt');
    expect(a.name).not.toBe(b.name);
  });

  it('escapedNameBytes gives the bytes back, and escaped names are valid components', () => {
    const samples = [
      bytes('caf', [0xe9], '.txt'),
      bytes([0xff, 0xfe]),
      Buffer.from('caf\uEFE9.txt'),
      bytes('✓', [0xe9, 0x80, 0xbf], 'x', [0xf0, 0x9f, 0x98]),
      Buffer.from('plain ✓'),
    ];
    // Every two-byte string with a high byte.
    for (let x = 0x80; x < 0x100; x++)
      for (const y of [0x41, 0x80, 0xbf, 0xc3, 0xff]) samples.push(bytes([x, y]));
    const seen = new Map<string, string>();
    for (const s of samples) {
      const { name } = nameFromBytes(s);
      expect(Buffer.from(escapedNameBytes(name)).equals(s), `round trip of ${s.toString('hex')}`).toBe(true);
      expect(isValidComponent(name)).toBe(true);
      const other = seen.get(name);
      if (other !== undefined) expect(other).toBe(s.toString('hex'));
      seen.set(name, s.toString('hex'));
    }
  });
});
