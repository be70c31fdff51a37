/**
 * Backup filter patterns (`-exclude`, `-include`): globs over snapshot paths, compiled once to a
 * regular expression tested against an entry's whole path (`/a/b/c`).
 *
 * - `*` matches any run of characters within one path component, `?` one character (never `/`),
 *   `[abc]`, `[a-z]`, `[!abc]` / `[^abc]` one character of (not of) the set; `\x` is `x` itself.
 * - `**` as a whole component matches any number of components (zero included): `a/**\/b` matches
 *   `/a/b` and `/a/x/y/b`; a trailing `/**` everything under a directory. Elsewhere it is `*`.
 * - A pattern starting with `/` is anchored at the source root: `/src/*.ts` matches `/src/a.ts`
 *   only. Any other pattern matches at any depth, against the last components of the path: `*.log`
 *   matches every entry whose name ends in `.log`, `build/out` matches `/build/out` and
 *   `/x/build/out`.
 * - A trailing `/` matches directories only: `cache/`.
 *
 * Matching is case-sensitive. A pattern that cannot be compiled (empty, an unterminated `[`, a
 * trailing `\`, a bad range) throws a PatternError naming it.
 */

/** A pattern that is not a valid glob. */
export class PatternError extends Error {
  override readonly name = 'PatternError';
  readonly pattern: string;
  constructor(pattern: string, reason: string) {
    super(`bad pattern ${JSON.stringify(pattern)}: ${reason}`);
    this.pattern = pattern;
  }
}

/** One compiled pattern. */
export interface Glob {
  readonly pattern: string;
  /** The regular expression's source, to be tested against a whole path (`/a/b`). */
  readonly source: string;
  /** Matches directories only (the pattern ended with `/`). */
  readonly directoryOnly: boolean;
}

const SPECIAL = /[.*+?^${}()|[\]\\/]/;
/** Any character, a new line included. */
const ANY = '[\\s\\S]';

/** Compiles `pattern`; throws PatternError. */
export function compileGlob(pattern: string): Glob {
  if (pattern.length === 0) throw new PatternError(pattern, 'empty pattern');
  if (pattern.includes('\0')) throw new PatternError(pattern, 'it holds a NUL character');
  let body = pattern;
  let directoryOnly = false;
  while (body.length > 1 && body.endsWith('/') && !body.endsWith('\\/')) {
    body = body.slice(0, -1);
    directoryOnly = true;
  }
  const anchored = body.startsWith('/');
  if (anchored) body = body.slice(1);
  if (body.length === 0) throw new PatternError(pattern, 'it matches the whole source');
  // Paths start with `/`: `^[\s\S]*/` is "at any depth", the root's children included. `[\s\S]`,
  // not `.`: a name may hold a new line, and the source is compiled without the `s` flag.
  const source = `${anchored ? '^/' : `^${ANY}*/`}${translate(pattern, body)}$`;
  try {
    new RegExp(source, 'u');
  } catch (err) {
    throw new PatternError(pattern, err instanceof Error ? err.message : String(err));
  }
  return { pattern, source, directoryOnly };
}

/** The regular expression of a glob body (no leading `/`). */
function translate(pattern: string, body: string): string {
  let out = '';
  let i = 0;
  while (i < body.length) {
    const c = body[i]!;
    if (c === '*') {
      let j = i;
      while (body[j] === '*') j++;
      const wholeComponent = j - i >= 2 && (i === 0 || body[i - 1] === '/');
      if (wholeComponent && body[j] === '/') {
        out += `(?:${ANY}*/)?`;
        j++;
      } else if (wholeComponent && j === body.length) {
        out += `${ANY}*`;
      } else {
        out += '[^/]*';
      }
      i = j;
    } else if (c === '?') {
      out += '[^/]';
      i++;
    } else if (c === '[') {
      const { regex, end } = bracket(pattern, body, i);
      out += regex;
      i = end;
    } else if (c === '\\') {
      if (i + 1 >= body.length) throw new PatternError(pattern, 'it ends with a lone \\');
      out += literal(body[i + 1]!);
      i += 2;
    } else {
      out += literal(c);
      i++;
    }
  }
  return out;
}

/** `[...]` at `body[start]`: its regular expression and the index after its `]`. */
function bracket(pattern: string, body: string, start: number): { regex: string; end: number } {
  let i = start + 1;
  const negated = body[i] === '!' || body[i] === '^';
  if (negated) i++;
  let set = '';
  let first = true;
  for (;;) {
    if (i >= body.length) throw new PatternError(pattern, 'unterminated [');
    const c = body[i]!;
    if (c === ']' && !first) break;
    first = false;
    if (c === '/') throw new PatternError(pattern, 'a [...] set cannot hold /');
    if (c === '\\') {
      if (i + 1 >= body.length) throw new PatternError(pattern, 'unterminated [');
      set += classChar(body[i + 1]!);
      i += 2;
      continue;
    }
    set += c === '-' ? '-' : classChar(c);
    i++;
  }
  return { regex: negated ? `[^/${set}]` : `[${set}]`, end: i + 1 };
}

/** `c` as itself inside a regular expression's `[...]`. */
function classChar(c: string): string {
  return /[\]\\^[-]/.test(c) ? `\\${c}` : c;
}

function literal(c: string): string {
  return SPECIAL.test(c) ? `\\${c}` : c;
}
