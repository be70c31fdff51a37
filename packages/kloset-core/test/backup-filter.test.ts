/** Backup filters: glob patterns (glob.ts), which entries they keep (path-filter.ts), the source wrapper. */
import type { EntryType, ScanContext, Source, SourceRecord } from '@kloset/connector-contract';
import { describe, expect, it } from 'vitest';
import { filteredSource } from '../src/backup/filtered-source.ts';
import { compileGlob, PatternError } from '../src/backup/glob.ts';
import { PathFilter } from '../src/backup/path-filter.ts';

function matches(pattern: string, path: string): boolean {
  return new RegExp(compileGlob(pattern).source, 'u').test(path);
}

describe('compileGlob', () => {
  it.each([
    // A pattern without `/` matches the base name at any depth.
    ['*.log', '/a.log', true],
    ['*.log', '/x/y/a.log', true],
    ['*.log', '/a.log/b', false],
    ['*.log', '/alog', false],
    ['a?c', '/d/abc', true],
    ['a?c', '/d/a/c', false],
    ['node_modules', '/p/node_modules', true],
    ['node_modules', '/p/node_modules2', false],
    // `[...]` sets.
    ['file[0-9].txt', '/file7.txt', true],
    ['file[0-9].txt', '/filex.txt', false],
    ['file[!0-9].txt', '/filex.txt', true],
    ['file[^0-9].txt', '/file7.txt', false],
    ['[]]', '/]', true],
    ['[abc]', '/b', true],
    // Anchored at the root.
    ['/src/*.ts', '/src/a.ts', true],
    ['/src/*.ts', '/x/src/a.ts', false],
    ['/src/*.ts', '/src/d/a.ts', false],
    ['/top', '/top', true],
    ['/top', '/a/top', false],
    // A pattern with `/` not at its start matches the last components at any depth.
    ['build/out', '/build/out', true],
    ['build/out', '/x/build/out', true],
    ['build/out', '/x/build/out2', false],
    // `**` across components.
    ['/a/**/b', '/a/b', true],
    ['/a/**/b', '/a/x/y/b', true],
    ['/a/**/b', '/a/xb', false],
    ['/a/**', '/a/x/y', true],
    ['/a/**', '/a', false],
    ['**/c', '/c', true],
    ['**/c', '/a/b/c', true],
    ['/a**b', '/a/b', false],
    ['/a**b', '/axxb', true],
    // Literal regular expression characters and escapes.
    ['a.b', '/axb', false],
    ['a.b', '/a.b', true],
    ['(x)+', '/(x)+', true],
    ['\\*', '/*', true],
    ['\\*', '/a', false],
    ['é*', '/dir/été', true],
    // Names holding a new line, above or in the entry (the source has no `s` flag).
    ['*.log', '/a\nb/c.log', true],
    ['/a\nb/**', '/a\nb/x\ny', true],
    ['**/c', '/a\n/c', true],
    ['*', '/x\ny', true],
  ])('%s against %s: %s', (pattern, path, expected) => {
    expect(matches(pattern, path)).toBe(expected);
  });

  it('marks a pattern ending with / as for directories only', () => {
    expect(compileGlob('cache/').directoryOnly).toBe(true);
    expect(compileGlob('cache').directoryOnly).toBe(false);
    expect(matches('cache/', '/x/cache')).toBe(true);
  });

  it.each([
    ['', 'empty pattern'],
    ['/', 'it matches the whole source'],
    ['a[bc', 'unterminated ['],
    ['a\\', 'it ends with a lone \\'],
    ['[z-a]', 'Range out of order'],
    ['[a/b]', 'cannot hold /'],
  ])('refuses %j (%s), naming the pattern', (pattern, reason) => {
    let thrown: unknown;
    try {
      compileGlob(pattern);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(PatternError);
    expect((thrown as PatternError).pattern).toBe(pattern);
    expect((thrown as PatternError).message).toContain(JSON.stringify(pattern));
    expect((thrown as PatternError).message).toContain(reason);
  });
});

function kept(filter: PathFilter, entries: readonly [string, EntryType][]): string[] {
  return entries.filter(([p, t]) => filter.keeps(p, t)).map(([p]) => p);
}

const TREE: [string, EntryType][] = [
  ['/', 'directory'],
  ['/a.txt', 'file'],
  ['/a.log', 'file'],
  ['/cache', 'directory'],
  ['/cache/x.txt', 'file'],
  ['/cache/deep/y.txt', 'file'],
  ['/cache/deep', 'directory'],
  ['/docs', 'directory'],
  ['/docs/readme.md', 'file'],
  ['/docs/img/logo.png', 'file'],
  ['/docs/img', 'directory'],
  ['/src/cache', 'file'],
  ['/src/main.ts', 'file'],
  ['/src', 'directory'],
  ['/link', 'symlink'],
];

describe('PathFilter', () => {
  it('drops an excluded directory with everything under it, whatever the order', () => {
    const f = new PathFilter({ exclude: ['cache/', '*.log'] });
    expect(kept(f, TREE)).toEqual([
      '/',
      '/a.txt',
      '/docs',
      '/docs/readme.md',
      '/docs/img/logo.png',
      '/docs/img',
      '/src/cache', // a file: `cache/` matches directories only
      '/src/main.ts',
      '/src',
      '/link',
    ]);
  });

  it('keeps included files and files under included directories, and every directory', () => {
    const f = new PathFilter({ include: ['*.txt', '/docs'] });
    expect(kept(f, TREE)).toEqual([
      '/',
      '/a.txt',
      '/cache',
      '/cache/x.txt',
      '/cache/deep/y.txt',
      '/cache/deep',
      '/docs',
      '/docs/readme.md',
      '/docs/img/logo.png',
      '/docs/img',
      '/src',
    ]);
  });

  it('lets excludes win over includes', () => {
    const f = new PathFilter({ include: ['*.txt', '/docs'], exclude: ['/cache', '*.png'] });
    expect(kept(f, TREE)).toEqual(['/', '/a.txt', '/docs', '/docs/readme.md', '/docs/img', '/src']);
  });

  it('is empty without patterns, and throws the first bad one', () => {
    expect(new PathFilter({}).empty).toBe(true);
    expect(new PathFilter({ exclude: ['x'] }).empty).toBe(false);
    expect(() => new PathFilter({ exclude: ['ok', '[bad'] })).toThrow(/bad pattern "\[bad": unterminated \[/);
  });
});

describe('filteredSource', () => {
  const record = (path: string, type: EntryType): SourceRecord => ({
    path,
    type,
    size: type === 'file' ? 1 : 0,
    mtime: { sec: 0, nsec: 0 },
    metadata: {},
    open: async () => {
      throw new Error(`${path} must not be opened`);
    },
  });
  const source: Source = {
    info: { protocol: 'test', origin: 'here', root: '/r' },
    concurrency: 3,
    async *scan() {
      for (const [p, t] of TREE) yield record(p, t);
    },
    close: async () => {},
  };

  it('yields the kept records only, with the inner source info and concurrency', async () => {
    const filtered = filteredSource(source, { exclude: ['/docs', '/src'] });
    expect(filtered.info).toBe(source.info);
    expect(filtered.concurrency).toBe(3);
    const paths: string[] = [];
    for await (const r of filtered.scan()) paths.push(r.path);
    expect(paths).toEqual([
      '/',
      '/a.txt',
      '/a.log',
      '/cache',
      '/cache/x.txt',
      '/cache/deep/y.txt',
      '/cache/deep',
      '/link',
    ]);
  });

  it('tells the source the excluded directories, and passes lookups of the previous snapshot on', async () => {
    let seen: ScanContext | undefined;
    const spy: Source = {
      info: source.info,
      async *scan(_signal, context) {
        seen = context;
        yield record('/', 'directory');
      },
      close: async () => {},
    };
    const previous = async (path: string) => ({
      path,
      type: 'file' as const,
      size: 9,
      mtime: { sec: 0, nsec: 0 },
      metadata: {},
    });
    for await (const _ of filteredSource(spy, { exclude: ['cache/', '/docs'], include: ['*.txt'] }).scan(
      undefined,
      { previous },
    )) {
    }
    const re = new RegExp(seen!.excludedDirectories!, 'u');
    expect(['/cache', '/x/cache', '/docs'].map((p) => re.test(p))).toEqual([true, true, true]);
    expect(['/docs2', '/x/docs', '/a.txt'].map((p) => re.test(p))).toEqual([false, false, false]);
    expect((await seen!.previous!('/f'))?.size).toBe(9);
    // Includes alone exclude no directory: no hint.
    for await (const _ of filteredSource(spy, { include: ['*.txt'] }).scan()) {
    }
    expect(seen?.excludedDirectories).toBeUndefined();
  });

  it('is the source itself without patterns', () => {
    expect(filteredSource(source, { exclude: [], include: [] })).toBe(source);
  });
});
