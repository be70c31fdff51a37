/** Helpers for EntryPath (see record.ts for the rules). */
import type { EntryPath } from './record.ts';

export function isValidComponent(name: string): boolean {
  return name.length > 0 && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');
}

export function isValidPath(path: string): path is EntryPath {
  if (path === '/') return true;
  if (!path.startsWith('/')) return false;
  return path.slice(1).split('/').every(isValidComponent);
}

/** `/a/b` -> ['a', 'b']; `/` -> []. */
export function splitPath(path: EntryPath): string[] {
  return path === '/' ? [] : path.slice(1).split('/');
}

export function joinPath(parent: EntryPath, name: string): EntryPath {
  if (!isValidComponent(name)) throw new Error(`invalid path component ${JSON.stringify(name)}`);
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

export function parentPath(path: EntryPath): EntryPath {
  if (path === '/') return '/';
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

export function baseName(path: EntryPath): string {
  return path === '/' ? '' : path.slice(path.lastIndexOf('/') + 1);
}

/**
 * Names as bytes (POSIX file names, which need not be UTF-8). A byte 0x80..0xFF of a name that is
 * not part of a valid UTF-8 sequence is written as the private-use code point U+EF00 + byte
 * (U+EF80..U+EFFF, the mapping of MirBSD's OPTU-8); so are the bytes of a valid sequence for a code
 * point of that range itself, which keeps the mapping one-to-one: two different byte strings never
 * give the same string, and `escapedNameBytes` gives the bytes back. Bytes that are valid UTF-8
 * without a code point of the range give their plain decoding (almost every name).
 */
const ESCAPE_BASE = 0xef00;
const ESCAPE_FIRST = 0xef80;
const ESCAPE_LAST = 0xefff;
const ESCAPE_RANGE = /[\uef80-\uefff]/;
/** Throws on bytes that are not UTF-8; keeps a leading byte order mark (it is part of the name). */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The string form of the bytes `bytes` of a name (or of a path: `/` is kept): their UTF-8
 * decoding, or the escaped form described above, with `escaped` true, when they are not valid
 * UTF-8 or hold a code point of U+EF80..U+EFFF. A connector that reads names as bytes uses `name`
 * as the path component and, when `escaped`, keeps the bytes in `EntryAttributes.nameBytes`.
 */
export function nameFromBytes(bytes: Uint8Array): { readonly name: string; readonly escaped: boolean } {
  let decoded: string | undefined;
  try {
    decoded = STRICT_UTF8.decode(bytes);
  } catch {
    decoded = undefined;
  }
  if (decoded !== undefined && !ESCAPE_RANGE.test(decoded)) return { name: decoded, escaped: false };
  let name = '';
  let escaped = false;
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      name += String.fromCharCode(b);
      i++;
      continue;
    }
    const cp = utf8At(bytes, i);
    if (cp === undefined || (cp.codePoint >= ESCAPE_FIRST && cp.codePoint <= ESCAPE_LAST)) {
      name += String.fromCharCode(ESCAPE_BASE + b);
      escaped = true;
      i++;
    } else {
      name += String.fromCodePoint(cp.codePoint);
      i += cp.length;
    }
  }
  return { name, escaped };
}

/** The bytes of a name in the string form of `nameFromBytes`: its inverse. */
export function escapedNameBytes(name: string): Uint8Array {
  const out: number[] = [];
  const encoder = new TextEncoder();
  for (const ch of name) {
    const cp = ch.codePointAt(0)!;
    if (cp >= ESCAPE_FIRST && cp <= ESCAPE_LAST) out.push(cp - ESCAPE_BASE);
    else if (cp < 0x80) out.push(cp);
    else out.push(...encoder.encode(ch));
  }
  return Uint8Array.from(out);
}

/** The code point of the valid UTF-8 sequence at `bytes[i]` (not ASCII) and its length, or undefined. */
function utf8At(bytes: Uint8Array, i: number): { codePoint: number; length: number } | undefined {
  const b = bytes[i]!;
  let length: number;
  let min: number;
  let cp: number;
  if (b >= 0xc2 && b <= 0xdf) [length, min, cp] = [2, 0x80, b & 0x1f];
  else if (b >= 0xe0 && b <= 0xef) [length, min, cp] = [3, 0x800, b & 0x0f];
  else if (b >= 0xf0 && b <= 0xf4) [length, min, cp] = [4, 0x10000, b & 0x07];
  else return undefined;
  if (i + length > bytes.length) return undefined;
  for (let k = 1; k < length; k++) {
    const c = bytes[i + k]!;
    if ((c & 0xc0) !== 0x80) return undefined;
    cp = (cp << 6) | (c & 0x3f);
  }
  // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not valid UTF-8.
  if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return undefined;
  return { codePoint: cp, length };
}
