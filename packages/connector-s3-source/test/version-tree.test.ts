/** VersionTree and version names: the paths of the versions tree (docs/FORMAT.md §8.4). */
import { versionName } from '@kloset/s3-common';
import { describe, expect, it } from 'vitest';
import { VersionTree } from '../src/version-tree.ts';

describe('versionName', () => {
  it('is the inverted LastModified in 13 digits and the escaped version id: newest first', () => {
    const ms = Date.parse('2026-12-06T23:02:48.123Z');
    expect(versionName(ms, '3sL4kqtJ')).toBe('8203401831876.3sL4kqtJ');
    expect(versionName(ms, 'null')).toBe('8203401831876.null');
    expect(versionName(0, 'a%b/c\0')).toBe('9999999999999.a%25b%2Fc%00');
    const names = [ms + 1, ms, ms - 1000].map((t) => versionName(t, 'x'));
    expect([...names].sort()).toEqual(names);
  });
});

describe('VersionTree', () => {
  it('gives each version its key directory (last segment in twin form) and closes directories once', () => {
    const t = new VersionTree();
    const paths: string[] = [];
    const closed: string[] = [];
    const push = (key: string, id: string, ms: number): void => {
      const r = t.push(key, id, ms);
      paths.push(r.path);
      closed.push(...r.closed.map((d) => d.path));
    };
    push('a', 'v2', 2000);
    push('a', 'v1', 1000);
    push('a-b', 'v1', 500);
    push('a/b', 'v1', 3000);
    push('a/b/c', 'v1', 4000);
    push('x/..', 'null', 10);
    closed.push(...t.end().map((d) => d.path));
    expect(paths).toEqual([
      `/%%versions/%a%/${versionName(2000, 'v2')}`,
      `/%%versions/%a%/${versionName(1000, 'v1')}`,
      `/%%versions/%a-b%/${versionName(500, 'v1')}`,
      `/%%versions/a/%b%/${versionName(3000, 'v1')}`,
      `/%%versions/a/b/%c%/${versionName(4000, 'v1')}`,
      `/%%versions/x/%..%/${versionName(10, 'null')}`,
    ]);
    expect(closed).toEqual([
      '/%%versions/%a%',
      '/%%versions/%a-b%',
      '/%%versions/a/%b%',
      '/%%versions/a/b/%c%',
      '/%%versions/a/b',
      '/%%versions/a',
      '/%%versions/x/%..%',
      '/%%versions/x',
      '/%%versions',
    ]);
    expect(new Set(closed).size).toBe(closed.length);
  });

  it("tells what filters judge each entry as: the key's file, its folders, the root", () => {
    const t = new VersionTree();
    expect(t.push('a/b/c.txt', 'v', 1).filterAs).toEqual({ path: '/a/b/c.txt', type: 'file' });
    expect(t.push('a/.', 'v', 1).filterAs).toEqual({ path: '/a/%.', type: 'file' });
    expect(t.end().map((d) => [d.path, d.filterAs.path, d.filterAs.type])).toEqual([
      ['/%%versions/a/%.%', '/a/%.', 'file'],
      ['/%%versions/a', '/a', 'directory'],
      ['/%%versions', '/', 'directory'],
    ]);
  });

  it('gives directories the newest LastModified below them; nothing pushed, nothing closed', () => {
    const t = new VersionTree();
    t.push('d/k', 'v2', 7000);
    t.push('d/k', 'v1', 5000);
    const dirs = t.end();
    expect(dirs.map((d) => [d.path, d.mtimeMs])).toEqual([
      ['/%%versions/d/%k%', 7000],
      ['/%%versions/d', 7000],
      ['/%%versions', 7000],
    ]);
    expect(new VersionTree().end()).toEqual([]);
  });
});
