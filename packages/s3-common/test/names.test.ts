import { isValidComponent } from '@kloset/connector-contract';
import { describe, expect, it } from 'vitest';
import { decodeName, encodeFileTwin, encodeSegment, isPlainSegment } from '../src/index.ts';

describe('key segment <-> entry name', () => {
  it('leaves plain names alone', () => {
    for (const s of [
      'a',
      'img.jpg',
      'ünï',
      'a b',
      'x%20y',
      '...',
      '.hidden',
      'a\u0001b',
      '\u{1F600}',
      'tab\there',
    ]) {
      expect(isPlainSegment(s)).toBe(true);
      expect(encodeSegment(s)).toBe(s);
    }
  });

  it('escapes names that are not valid path components', () => {
    expect(encodeSegment('')).toBe('%');
    expect(encodeSegment('.')).toBe('%.');
    expect(encodeSegment('..')).toBe('%..');
    expect(encodeSegment('%')).toBe('%%25');
    expect(encodeSegment('%20x')).toBe('%%2520x');
    expect(encodeSegment('a\0b')).toBe('%a%00b');
  });

  it('gives a file with a folder twin its own form', () => {
    expect(encodeFileTwin('a')).toBe('%a%');
    expect(encodeFileTwin('')).toBe('%%');
    expect(encodeFileTwin('%')).toBe('%%25%');
  });

  it('decodes what it encodes, and refuses other % names', () => {
    expect(decodeName('abc')).toEqual({ segment: 'abc', twin: false });
    expect(decodeName('%')).toEqual({ segment: '', twin: false });
    expect(decodeName('%a%')).toEqual({ segment: 'a', twin: true });
    expect(decodeName('%abc')).toBeUndefined();
    expect(decodeName('%%41')).toBeUndefined();
    expect(decodeName('%%2')).toBeUndefined();
  });

  it('is injective and invertible over tricky and random segments', () => {
    const alphabet = ['%', '.', '0', '2', '5', 'a', '\0', ' ', '\u00e9', '\u{1F600}', '\u0001'];
    const segments = new Set<string>(['', '.', '..', '...', '%', '%%', '%25', '%00', '%.', '%..']);
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let i = 0; i < 20000; i++) {
      const len = rnd(6);
      let s = '';
      for (let j = 0; j < len; j++) s += alphabet[rnd(alphabet.length)];
      segments.add(s);
    }
    const seen = new Map<string, string>();
    for (const s of segments) {
      for (const twin of [false, true]) {
        const name = twin ? encodeFileTwin(s) : encodeSegment(s);
        expect(isValidComponent(name), `name of ${JSON.stringify(s)}`).toBe(true);
        const id = `${twin}:${s}`;
        expect(seen.get(name) ?? id, `collision on ${JSON.stringify(name)}`).toBe(id);
        seen.set(name, id);
        expect(decodeName(name)).toEqual({ segment: s, twin });
      }
    }
  });
});
