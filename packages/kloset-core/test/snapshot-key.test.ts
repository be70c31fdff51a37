import { describe, expect, it } from 'vitest';
import {
  childrenPrefix,
  compareKeys,
  compareUtf8,
  decodeSortKey,
  type EntryKey,
  entryKey,
  hasPrefix,
  keyPath,
  sortKey,
  sortKeyOf,
  subtreePrefix,
} from '../src/snapshot/entry-key.ts';

/** Reference order, straight from FORMAT.md §8.2, on UTF-8 bytes. */
function referenceCompare(a: EntryKey, b: EntryKey): number {
  const u = (s: string) => Buffer.from(s, 'utf8');
  for (let i = 0; i < Math.min(a.parent.length, b.parent.length); i++) {
    const c = Buffer.compare(u(a.parent[i]!), u(b.parent[i]!));
    if (c !== 0) return c;
  }
  if (a.parent.length !== b.parent.length) return a.parent.length < b.parent.length ? -1 : 1;
  const c = Buffer.compare(u(a.name), u(b.name));
  if (c !== 0) return c;
  return Math.sign(a.rank - b.rank);
}

const ALPHABET = [
  'a',
  'b',
  'A',
  ' ',
  '!',
  '\u0001',
  'é',
  'ß',
  '中',
  '\uE000',
  '\uFFFD',
  '\uFF21',
  '😀',
  '𝄞',
  '\u{10FFFF}',
];

function rnd(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomName(r: () => number): string {
  const n = 1 + Math.floor(r() * 3);
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(r() * ALPHABET.length)];
  return s;
}

function randomKey(r: () => number): EntryKey {
  const depth = Math.floor(r() * 3);
  const parent = Array.from({ length: depth }, () => randomName(r));
  return { parent, name: randomName(r), rank: Math.floor(r() * 3) };
}

describe('entry keys', () => {
  it('compares strings by UTF-8 bytes, not UTF-16 code units', () => {
    // U+1F600 is a surrogate pair in UTF-16 (0xD83D...), which JS sorts before U+FFFD.
    expect('😀' < '\uFFFD').toBe(true);
    expect(compareUtf8('😀', '\uFFFD')).toBeGreaterThan(0);
    expect(compareUtf8('\uE000', '😀')).toBeLessThan(0);
    expect(compareUtf8('a', 'ab')).toBeLessThan(0);
    expect(compareUtf8('é', 'z')).toBeGreaterThan(0);
    const r = rnd(1);
    for (let i = 0; i < 5000; i++) {
      const a = randomName(r);
      const b = randomName(r);
      expect(Math.sign(compareUtf8(a, b))).toBe(Buffer.compare(Buffer.from(a), Buffer.from(b)));
    }
  });

  it('sort keys order like the key tuples, and decode back', () => {
    const r = rnd(7);
    const keys = Array.from({ length: 3000 }, () => randomKey(r));
    for (let i = 0; i + 1 < keys.length; i++) {
      const a = keys[i]!;
      const b = keys[i + 1]!;
      const ref = referenceCompare(a, b);
      expect(Math.sign(compareKeys(a, b))).toBe(ref);
      expect(Buffer.compare(sortKeyOf(a), sortKeyOf(b))).toBe(ref);
      expect(decodeSortKey(sortKeyOf(a))).toEqual(a);
    }
  });

  it('orders the root first, then each directory listing, file before symlink before directory', () => {
    const paths: [string, 'file' | 'directory' | 'symlink'][] = [
      ['/a/b', 'file'],
      ['/a', 'directory'],
      ['/a', 'file'],
      ['/a', 'symlink'],
      ['/', 'directory'],
      ['/a!', 'directory'],
      ['/a!/x', 'file'],
      ['/b', 'file'],
      ['/a/b/c', 'file'],
      ['/ab', 'file'],
    ];
    const sorted = [...paths].sort((x, y) => Buffer.compare(sortKey(x[0], x[1]), sortKey(y[0], y[1])));
    expect(sorted).toEqual([
      ['/', 'directory'],
      ['/a', 'file'],
      ['/a', 'symlink'],
      ['/a', 'directory'],
      ['/a!', 'directory'],
      ['/ab', 'file'],
      ['/b', 'file'],
      // after the root listing, the sub-tree of /a (listing of /a, then of /a/b), then of /a!
      ['/a/b', 'file'],
      ['/a/b/c', 'file'],
      ['/a!/x', 'file'],
    ]);
  });

  it('prefixes select exactly a listing or a sub-tree', () => {
    const inA = ['/a/x', '/a/y/z', '/a/y'];
    const notInA = ['/a', '/ab', '/a!/x', '/b/a', '/'];
    const pre = subtreePrefix('/a');
    for (const p of inA) expect(hasPrefix(sortKey(p, 'file'), pre)).toBe(true);
    for (const p of notInA) expect(hasPrefix(sortKey(p, 'directory'), pre)).toBe(false);
    const ch = childrenPrefix('/a');
    expect(hasPrefix(sortKey('/a/x', 'file'), ch)).toBe(true);
    expect(hasPrefix(sortKey('/a/y/z', 'file'), ch)).toBe(false);
    expect(hasPrefix(sortKey('/x', 'file'), childrenPrefix('/'))).toBe(true);
    expect(hasPrefix(sortKey('/x/y', 'file'), childrenPrefix('/'))).toBe(false);
  });

  it('maps paths to keys and back', () => {
    expect(entryKey('/', 'directory')).toEqual({ parent: [], name: '', rank: 2 });
    expect(entryKey('/a/b/c', 'file')).toEqual({ parent: ['a', 'b'], name: 'c', rank: 0 });
    for (const p of ['/', '/a', '/a/b/😀', '/é/ß']) expect(keyPath(entryKey(p, 'symlink'))).toBe(p);
  });
});
