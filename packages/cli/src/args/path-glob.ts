/**
 * The glob PATTERN of `find` (like restic's): `*` any run of characters but `/`, `?` one
 * character but `/`, `**` any run of characters including `/` (as a whole segment, `a/**\/b` also
 * matches `a/b`), `[abc]`, `[a-z]`, `[!abc]` / `[^abc]` one character of (or not of) a set (never
 * `/`), and `\x` the character x itself. A pattern without `/` matches the base name of an entry
 * (at any depth); one with `/` matches its whole path from the root (a missing leading `/` is
 * added; a trailing `/` is dropped). Matching is case-sensitive, on Unicode code points.
 */
import { UsageError } from '../errors.ts';

/** A compiled PATTERN: `matches(path)` for an absolute snapshot path (`/docs/a.txt`). */
export interface PathGlob {
  readonly pattern: string;
  /** True when the pattern has a `/`: it is matched against the whole path. */
  readonly wholePath: boolean;
  matches(path: string): boolean;
}

const REGEX_SPECIAL = /[.*+?^${}()|[\]\\/]/g;
const literal = (s: string) => s.replace(REGEX_SPECIAL, '\\$&');
/** Any character, new lines included. */
const ANY = '[\\s\\S]';

/** The class at `pattern[start] === '['`: its regex and the index after its `]`, or undefined. */
function bracket(pattern: string, start: number): { regex: string; end: number } | undefined {
  let i = start + 1;
  const negated = pattern[i] === '!' || pattern[i] === '^';
  if (negated) i++;
  let body = '';
  let first = true;
  for (; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === ']' && !first) {
      if (body === '') return undefined;
      return { regex: negated ? `[^/${body}]` : `(?![/])[${body}]`, end: i + 1 };
    }
    first = false;
    if (ch === '\\' && i + 1 < pattern.length) {
      const next = pattern[++i]!;
      body += next === '-' ? '\\-' : literal(next);
    } else if (ch === '-') body += '-';
    else body += ch.replace(/[\\\]^[]/g, '\\$&');
  }
  return undefined;
}

/** `**` at `i` (a run of stars of length >= 2): its regex and the index after it. */
function doubleStar(pattern: string, i: number, end: number): { regex: string; end: number } {
  const segmentStart = i === 0 || pattern[i - 1] === '/';
  if (segmentStart && pattern[end] === '/') return { regex: `(?:${ANY}*/)?`, end: end + 1 };
  return { regex: `${ANY}*`, end };
}

function toRegex(pattern: string): string {
  let out = '';
  let i = 0;
  while (i < pattern.length) {
    const ch = pattern[i]!;
    if (ch === '*') {
      let end = i;
      while (pattern[end] === '*') end++;
      if (end - i === 1) {
        out += '[^/]*';
        i = end;
      } else {
        const star = doubleStar(pattern, i, end);
        out += star.regex;
        i = star.end;
      }
    } else if (ch === '?') {
      out += '[^/]';
      i++;
    } else if (ch === '[') {
      const cls = bracket(pattern, i);
      out += cls ? cls.regex : '\\[';
      i = cls ? cls.end : i + 1;
    } else if (ch === '\\' && i + 1 < pattern.length) {
      out += literal(pattern[i + 1]!);
      i += 2;
    } else {
      out += literal(ch);
      i++;
    }
  }
  return out;
}

/** Compiles PATTERN; an empty one, or one the class syntax makes invalid, is a usage error. */
export function compilePathGlob(pattern: string, command = 'find'): PathGlob {
  if (pattern === '') throw new UsageError(`${command}: the PATTERN is empty`, command);
  const wholePath = pattern.includes('/');
  let source = pattern;
  if (wholePath) {
    if (!source.startsWith('/')) source = `/${source}`;
    if (source.length > 1 && source.endsWith('/') && !source.endsWith('\\/')) source = source.slice(0, -1);
  }
  let regex: RegExp;
  try {
    regex = new RegExp(`^${toRegex(source)}$`, 'u');
  } catch (err) {
    throw new UsageError(
      `${command}: invalid PATTERN ${JSON.stringify(pattern)}: ${(err as Error).message}`,
      command,
    );
  }
  return {
    pattern,
    wholePath,
    matches(path: string): boolean {
      if (wholePath) return regex.test(path);
      const slash = path.lastIndexOf('/');
      const base = path.slice(slash + 1);
      return base !== '' && regex.test(base);
    },
  };
}
