/**
 * The glob PATTERN of `find` (like restic's), in the syntax of backup's -exclude and -include
 * (kloset-core backup/glob.ts): `*` any run of characters but `/`, `?` one character but `/`, `**`
 * as a whole component any number of components (`a/**\/b` also matches `a/b`), `[abc]`, `[a-z]`,
 * `[!abc]` / `[^abc]` one character of (or not of) a set (never `/`), `\x` the character x itself.
 * A pattern without `/` matches the base name of an entry at any depth; one with `/` matches its
 * whole path from the root (a missing leading `/` is added); one ending with `/` matches
 * directories only; `/` alone matches the root. Case-sensitive, on Unicode code points.
 */
import { compileGlob, type Glob, PatternError } from '@kloset/core';
import { UsageError } from '../errors.ts';

/** A compiled PATTERN: `matches(path, isDirectory)` for an absolute snapshot path (`/docs/a.txt`). */
export interface PathGlob {
  readonly pattern: string;
  /** True when the pattern has a `/`: it is matched against the whole path. */
  readonly wholePath: boolean;
  matches(path: string, isDirectory: boolean): boolean;
}

/** Compiles PATTERN; an empty or invalid one (an unterminated `[`, a trailing `\`) is a usage error. */
export function compilePathGlob(pattern: string, command = 'find'): PathGlob {
  if (pattern === '') throw new UsageError(`${command}: the PATTERN is empty`, command);
  const wholePath = pattern.includes('/');
  if (pattern === '/') return { pattern, wholePath, matches: (path) => path === '/' };
  let glob: Glob;
  try {
    glob = compileGlob(wholePath && !pattern.startsWith('/') ? `/${pattern}` : pattern);
  } catch (err) {
    if (err instanceof PatternError) throw new UsageError(`${command}: ${err.message}`, command);
    throw err;
  }
  const regex = new RegExp(glob.source, 'u');
  return {
    pattern,
    wholePath,
    // The root has no name: only `/` matches it.
    matches: (path, isDirectory) => path !== '/' && (isDirectory || !glob.directoryOnly) && regex.test(path),
  };
}
