/**
 * S3 key segments <-> entry names (path components), shared by the S3 source and destination.
 *
 * A key (relative to the root prefix) is split on `/` into segments: all but the last are directory
 * names, the last is the file name. A segment may be anything S3 allows between two slashes,
 * including the empty string (`a//b`, `/x`, `dir/`), `.`, `..` and control characters. Path
 * components cannot be empty, `.`, `..`, or contain NUL, so segments are encoded:
 *
 * - A plain segment (non-empty, not `.` or `..`, no NUL, not starting with `%`) is its own name.
 *   This covers nearly every real key: `photos/2024/img.jpg` -> `/photos/2024/img.jpg`.
 * - Any other segment becomes `%` followed by the segment with `%` written `%25` and NUL written
 *   `%00`: `''` -> `%`, `.` -> `%.`, `..` -> `%..`, `%20x` -> `%%2520x`.
 * - A file whose key `K` is also a folder (some key starts with `K/`, e.g. `a` next to `a/b`) gets
 *   the file form: `%` + escaped segment + `%` (`a` -> `%a%`), while the folder keeps the plain name.
 *
 * The mapping is injective: plain names never start with `%`; escaped names always do and never end
 * with a `%` that is not part of a `%XX` escape; file forms always do. `decodeName` inverts it.
 */

function escapeSegment(segment: string): string {
  return segment.replaceAll('%', '%25').replaceAll('\0', '%00');
}

/** True when a segment is its own name (needs no escaping). */
export function isPlainSegment(segment: string): boolean {
  return (
    segment.length > 0 &&
    segment !== '.' &&
    segment !== '..' &&
    !segment.includes('\0') &&
    !segment.startsWith('%')
  );
}

/** The entry name of a key segment (a directory name, or a file name without a folder twin). */
export function encodeSegment(segment: string): string {
  return isPlainSegment(segment) ? segment : `%${escapeSegment(segment)}`;
}

/** The entry name of a file whose key is also a folder (`a` when `a/...` keys exist). */
export function encodeFileTwin(segment: string): string {
  return `%${escapeSegment(segment)}%`;
}

/** A decoded name: the key segment, and whether it was the file form of a folder twin. */
export interface DecodedName {
  readonly segment: string;
  readonly twin: boolean;
}

/** Inverts encodeSegment / encodeFileTwin; undefined for names this scheme never produces. */
export function decodeName(name: string): DecodedName | undefined {
  if (!name.startsWith('%')) return { segment: name, twin: false };
  let out = '';
  for (let i = 1; i < name.length; i++) {
    const ch = name[i]!;
    if (ch !== '%') {
      out += ch;
      continue;
    }
    if (i === name.length - 1) return { segment: out, twin: true };
    const hex = name.slice(i + 1, i + 3);
    if (hex === '25') out += '%';
    else if (hex === '00') out += '\0';
    else return undefined;
    i += 2;
  }
  // Canonical forms only: a plain segment is never written escaped.
  return isPlainSegment(out) ? undefined : { segment: out, twin: false };
}
