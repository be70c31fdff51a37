import { describe, expect, it } from 'vitest';
import { compilePathGlob } from '../src/args/path-glob.ts';
import { UsageError } from '../src/errors.ts';

/** The paths of `paths` that `pattern` matches. */
const matching = (pattern: string, paths: readonly string[]) =>
  paths.filter((p) => compilePathGlob(pattern).matches(p, DIRECTORIES.has(p)));

const DIRECTORIES = new Set(['/', '/docs']);

const PATHS = [
  '/',
  '/a.txt',
  '/b.md',
  '/docs',
  '/docs/a.txt',
  '/docs/readme.md',
  '/docs/deep/a.txt',
  '/docs/deep/deeper/note.md',
  '/x/docs/a.txt',
  '/[odd].txt',
  '/star*.txt',
  '/ünï.txt',
];

describe('compilePathGlob', () => {
  it('a pattern without / matches the base name, at any depth', () => {
    expect(matching('a.txt', PATHS)).toEqual(['/a.txt', '/docs/a.txt', '/docs/deep/a.txt', '/x/docs/a.txt']);
    expect(matching('*.md', PATHS)).toEqual(['/b.md', '/docs/readme.md', '/docs/deep/deeper/note.md']);
    expect(matching('docs', PATHS)).toEqual(['/docs']);
    expect(matching('?.txt', PATHS)).toEqual(['/a.txt', '/docs/a.txt', '/docs/deep/a.txt', '/x/docs/a.txt']);
    expect(matching('???.txt', PATHS)).toEqual(['/ünï.txt']);
  });

  it('a pattern with / matches the whole path from the root', () => {
    expect(matching('/docs/*.txt', PATHS)).toEqual(['/docs/a.txt']);
    expect(matching('docs/*', PATHS)).toEqual(['/docs/a.txt', '/docs/readme.md']);
    expect(matching('/docs/', PATHS)).toEqual(['/docs']);
    expect(compilePathGlob('/docs/').matches('/docs', false)).toBe(false);
    expect(matching('/*/a.txt', PATHS)).toEqual(['/docs/a.txt']);
  });

  it('** crosses directories, and as a whole segment also matches none', () => {
    expect(matching('/docs/**/a.txt', PATHS)).toEqual(['/docs/a.txt', '/docs/deep/a.txt']);
    expect(matching('**/docs/a.txt', PATHS)).toEqual(['/docs/a.txt', '/x/docs/a.txt']);
    expect(matching('/docs/**', PATHS)).toEqual([
      '/docs/a.txt',
      '/docs/readme.md',
      '/docs/deep/a.txt',
      '/docs/deep/deeper/note.md',
    ]);
    // Not a whole component: `**` is `*` there.
    expect(matching('/**.md', PATHS)).toEqual(['/b.md']);
  });

  it('[sets], ranges and negations match one character, never /', () => {
    expect(matching('[ab].*', PATHS)).toEqual([
      '/a.txt',
      '/b.md',
      '/docs/a.txt',
      '/docs/deep/a.txt',
      '/x/docs/a.txt',
    ]);
    expect(matching('[a-b].md', PATHS)).toEqual(['/b.md']);
    expect(matching('[!a].*', PATHS)).toEqual(['/b.md']);
    expect(matching('[^a].md', PATHS)).toEqual(['/b.md']);
    expect(() => compilePathGlob('/docs[/]a.txt')).toThrow(UsageError);
    expect(matching('/docs[!x]a.txt', PATHS)).toEqual([]);
  });

  it('\\ escapes; regex characters are literal; an unclosed [ is a usage error', () => {
    expect(matching('\\[odd\\].txt', PATHS)).toEqual(['/[odd].txt']);
    expect(matching('star\\*.txt', PATHS)).toEqual(['/star*.txt']);
    expect(() => compilePathGlob('[odd')).toThrow(/find: bad pattern "\[odd": unterminated \[/);
    expect(matching('a+(b)|c.$', ['/a+(b)|c.$', '/aab'])).toEqual(['/a+(b)|c.$']);
    expect(matching('[\\]x]', ['/]', '/x', '/y'])).toEqual(['/]', '/x']);
  });

  it('* matches names with new lines, and the root only through /', () => {
    expect(matching('*', ['/a\nb', '/'])).toEqual(['/a\nb']);
    expect(matching('/', ['/', '/a'])).toEqual(['/']);
  });

  it('refuses an empty pattern as a usage error', () => {
    expect(() => compilePathGlob('')).toThrow(UsageError);
  });
});
