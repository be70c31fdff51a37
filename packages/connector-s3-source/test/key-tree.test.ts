import { isConnectorError, isValidPath, parentPath, splitPath } from '@kloset/connector-contract';
import { decodeName } from '@kloset/s3-common';
import { describe, expect, it } from 'vitest';
import { KeyTree, type TreeEvent } from '../src/index.ts';

function utf8Sort(keys: Iterable<string>): string[] {
  return [...new Set(keys)].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/** Feeds keys in S3 order; returns every event. */
function run(keys: Iterable<string>, mtime = (k: string) => k.length): TreeEvent<string>[] {
  const tree = new KeyTree<string>();
  const out: TreeEvent<string>[] = [];
  for (const k of utf8Sort(keys)) out.push(...tree.push(k, k, mtime(k)));
  out.push(...tree.end());
  return out;
}

function files(events: TreeEvent<string>[]): Record<string, string> {
  return Object.fromEntries(events.flatMap((e) => (e.kind === 'file' ? [[e.path, e.key]] : [])));
}

function dirs(events: TreeEvent<string>[]): Record<string, string> {
  return Object.fromEntries(events.flatMap((e) => (e.kind === 'dir' ? [[e.path, e.prefix]] : [])));
}

/** The key a file path stands for, rebuilt from the names alone. */
function keyOfPath(path: string): string {
  return splitPath(path)
    .map((n) => decodeName(n)?.segment ?? `<undecodable ${n}>`)
    .join('/');
}

/** Checks the invariants of a tree: unique valid paths, parents present, names decode to keys. */
function checkTree(keys: string[], events: TreeEvent<string>[]): void {
  const paths = new Set<string>();
  for (const e of events) {
    expect(isValidPath(e.path), `valid path ${JSON.stringify(e.path)}`).toBe(true);
    expect(paths.has(e.path), `path emitted twice: ${JSON.stringify(e.path)}`).toBe(false);
    paths.add(e.path);
  }
  for (const p of paths)
    if (p !== '/') expect(paths.has(parentPath(p)), `parent of ${JSON.stringify(p)}`).toBe(true);
  const f = files(events);
  expect(Object.values(f).sort()).toEqual([...keys].sort());
  for (const [path, key] of Object.entries(f))
    expect(keyOfPath(path), `key of ${JSON.stringify(path)}`).toBe(key);
  const expectedDirs = new Set<string>(['']);
  for (const k of keys) {
    const segs = k.split('/');
    for (let i = 1; i < segs.length; i++) expectedDirs.add(`${segs.slice(0, i).join('/')}/`);
  }
  expect(Object.values(dirs(events)).sort()).toEqual([...expectedDirs].sort());
  expect(events.at(-1)).toMatchObject({ kind: 'dir', path: '/', prefix: '' });
}

describe('KeyTree', () => {
  it('maps ordinary keys to the same paths and emits the folder hierarchy', () => {
    const ev = run(['photos/2024/a.jpg', 'photos/2024/b.jpg', 'photos/2025/c.jpg', 'readme.txt']);
    expect(files(ev)).toEqual({
      '/photos/2024/a.jpg': 'photos/2024/a.jpg',
      '/photos/2024/b.jpg': 'photos/2024/b.jpg',
      '/photos/2025/c.jpg': 'photos/2025/c.jpg',
      '/readme.txt': 'readme.txt',
    });
    expect(dirs(ev)).toEqual({
      '/': '',
      '/photos': 'photos/',
      '/photos/2024': 'photos/2024/',
      '/photos/2025': 'photos/2025/',
    });
  });

  it('represents a file next to a folder of the same name', () => {
    const keys = ['a', 'a/b', 'a/b/c', 'x/y', 'x/y/'];
    const ev = run(keys);
    expect(files(ev)).toEqual({
      '/%a%': 'a',
      '/a/%b%': 'a/b',
      '/a/b/c': 'a/b/c',
      '/x/%y%': 'x/y',
      '/x/y/%': 'x/y/',
    });
    checkTree(keys, ev);
  });

  it('holds a file back only until the listing passes its folder twin', () => {
    const keys = ['a', 'a!', 'a-1', 'a.txt', 'a.txt.bak', 'a/x', 'a0'];
    const ev = run(keys);
    expect(files(ev)['/%a%']).toBe('a');
    expect(files(ev)['/a.txt']).toBe('a.txt');
    expect(files(ev)['/a0']).toBe('a0');
    checkTree(keys, ev);
  });

  it('encodes empty, dot and dot-dot segments, leading and doubled slashes, folder markers', () => {
    const keys = ['dir/', 'dir/f', 'a//b', '/lead', '//', 'p/./q', 'p/../q', '.', '..', '%', '%2F', 'end/.'];
    const ev = run(keys);
    expect(files(ev)).toMatchObject({
      '/dir/%': 'dir/',
      '/a/%/b': 'a//b',
      '/%/lead': '/lead',
      '/%/%/%': '//',
      '/p/%./q': 'p/./q',
      '/p/%../q': 'p/../q',
      '/%.': '.',
      '/%..': '..',
      '/%%25': '%',
      '/%%252F': '%2F',
      '/end/%.': 'end/.',
    });
    checkTree(keys, ev);
  });

  it('keeps unicode, control characters and 1,024-byte keys', () => {
    const long = `${'d/'.repeat(100)}${'k'.repeat(1024 - 200)}`;
    const keys = [
      'ünï/cødé',
      'ctl\u0001\u0002\r\n\tx',
      'tab\there',
      '\u{1F600}/e',
      '\uE000',
      'nul\0in',
      long,
      'k'.repeat(1024),
    ];
    const ev = run(keys);
    expect(files(ev)['/ctl\u0001\u0002\r\n\tx']).toBe('ctl\u0001\u0002\r\n\tx');
    expect(files(ev)['/%nul%00in']).toBe('nul\0in');
    checkTree(keys, ev);
  });

  it('gives a directory the newest mtime under it, and the root the newest of all', () => {
    const mt: Record<string, number> = { 'a/x': 5, 'a/b/y': 9, 'a/z': 1, c: 3 };
    const ev = run(Object.keys(mt), (k) => mt[k]!);
    const m = Object.fromEntries(ev.flatMap((e) => (e.kind === 'dir' ? [[e.path, e.mtimeMs]] : [])));
    expect(m).toEqual({ '/a/b': 9, '/a': 9, '/': 9 });
    expect(run([])).toEqual([{ kind: 'dir', path: '/', prefix: '', mtimeMs: 0 }]);
  });

  it('refuses a listing out of UTF-8 binary order', () => {
    const tree = new KeyTree<string>();
    tree.push('b', 'b', 0);
    let err: unknown;
    try {
      tree.push('a', 'a', 0);
    } catch (e) {
      err = e;
    }
    expect(isConnectorError(err, 'invalid')).toBe(true);
    // U+E000 sorts before U+1F600 in UTF-8 (not in UTF-16): accepted in this order.
    const t2 = new KeyTree<string>();
    t2.push('\uE000', '', 0);
    expect(() => t2.push('\u{1F600}', '', 0)).not.toThrow();
  });

  it('is injective and complete on random key sets', () => {
    const alphabet = ['a', 'b', '/', '/', '.', '%', '!', '-', '0', '\u00e9', '\u{1F600}', '\0', ' '];
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let round = 0; round < 300; round++) {
      const keys = new Set<string>();
      const count = 1 + rnd(40);
      for (let i = 0; i < count; i++) {
        let k = '';
        const len = 1 + rnd(7);
        for (let j = 0; j < len; j++) k += alphabet[rnd(alphabet.length)];
        keys.add(k);
      }
      const sorted = utf8Sort(keys);
      checkTree(sorted, run(sorted));
    }
  });

  it('holds at most a key-length chain of pending files however long the listing', () => {
    const tree = new KeyTree<string>();
    let emitted = 0;
    emitted += tree.push('log', 'log', 0).length;
    for (let i = 0; i < 20000; i++) {
      const k = `log-${String(i).padStart(6, '0')}`;
      emitted += tree.push(k, k, 0).length;
    }
    // Every log-N file was emitted as soon as the next key came; only `log` and the last wait.
    expect(emitted).toBe(19999);
    const rest = tree.end();
    expect(rest.filter((e) => e.kind === 'file').map((e) => e.path)).toEqual(['/log-019999', '/log']);
  });
});
