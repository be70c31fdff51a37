/**
 * The order of entries in a snapshot tree (docs/FORMAT.md §8.2):
 *
 *     key(entry) = (components(parent path), name, type_rank)
 *
 * compared component-wise by UTF-8 bytes. Two representations:
 * - `EntryKey`, the tuple, as stored in internal tree nodes;
 * - the **sort key**, a byte string whose plain byte order (memcmp) is the key order, used for
 *   sorting, searching and prefix scans: `utf8(c) || 0x00` for each parent component, then `0x00`,
 *   then `utf8(name) || 0x00`, then `u8(type_rank)`. Components contain no NUL and are not empty,
 *   so the encoding is unambiguous and reversible.
 */
import { type EntryPath, type EntryType, splitPath } from '@kloset/connector-contract';

/** Type ranks, in key order: file 0, symlink 1, directory 2. */
export const TYPE_RANK: Readonly<Record<EntryType, number>> = { file: 0, symlink: 1, directory: 2 };
const RANK_TYPES: readonly EntryType[] = ['file', 'symlink', 'directory'];

/** The entry type of a type rank; throws on an unknown rank. */
export function typeOfRank(rank: number): EntryType {
  const t = RANK_TYPES[rank];
  if (t === undefined) throw new Error(`unknown type rank ${rank}`);
  return t;
}

/** An entry key as a tuple: parent components, name, type rank. */
export interface EntryKey {
  readonly parent: readonly string[];
  readonly name: string;
  readonly rank: number;
}

/** The key of the entry at `path` of type `type`. The root `/` has parent [] and name "". */
export function entryKey(path: EntryPath, type: EntryType): EntryKey {
  const comps = splitPath(path);
  const name = comps.pop() ?? '';
  return { parent: comps, name, rank: TYPE_RANK[type] };
}

/** The path of an entry key. */
export function keyPath(key: EntryKey): EntryPath {
  if (key.parent.length === 0 && key.name === '') return '/';
  return `/${[...key.parent, key.name].join('/')}`;
}

/**
 * Compares two strings by their UTF-8 bytes, which is Unicode code point order. JavaScript's `<`
 * compares UTF-16 code units, which differs when a surrogate (an astral character) meets a code
 * unit in U+E000..U+FFFF: code points above U+FFFF must sort after those.
 */
export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return fixup(x) - fixup(y);
  }
  return a.length - b.length;
}

/** Maps a UTF-16 code unit so that numeric order is code point order at a first difference. */
function fixup(c: number): number {
  if (c >= 0xe000) return c - 0x800;
  if (c >= 0xd800) return c + 0x2000;
  return c;
}

/** Compares two entry keys in tree order. */
export function compareKeys(a: EntryKey, b: EntryKey): number {
  const n = Math.min(a.parent.length, b.parent.length);
  for (let i = 0; i < n; i++) {
    const c = compareUtf8(a.parent[i]!, b.parent[i]!);
    if (c !== 0) return c;
  }
  if (a.parent.length !== b.parent.length) return a.parent.length - b.parent.length;
  const c = compareUtf8(a.name, b.name);
  if (c !== 0) return c;
  return a.rank - b.rank;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

const RANK_CHARS = ['\u0000', '\u0001', '\u0002'];

/**
 * The sort key of an entry key (see the module comment). Built as a JS string with NUL
 * separators, then UTF-8 encoded once: NUL and ranks 0..2 encode to single bytes.
 */
export function sortKeyOf(key: EntryKey): Buffer {
  let s = '';
  for (const c of key.parent) s += `${c}\u0000`;
  const rank = RANK_CHARS[key.rank];
  if (rank === undefined) throw new Error(`unknown type rank ${key.rank}`);
  return Buffer.from(`${s}\u0000${key.name}\u0000${rank}`, 'utf8');
}

/** The sort key of the entry at `path` of type `type`. */
export function sortKey(path: EntryPath, type: EntryType): Buffer {
  const rank = RANK_CHARS[TYPE_RANK[type]]!;
  if (path === '/') return Buffer.from(`\u0000\u0000${rank}`, 'latin1');
  const i = path.lastIndexOf('/');
  const parent = i === 0 ? '' : `${path.slice(1, i).replaceAll('/', '\u0000')}\u0000`;
  return Buffer.from(`${parent}\u0000${path.slice(i + 1)}\u0000${rank}`, 'utf8');
}

/** Decodes a sort key back into its tuple. */
export function decodeSortKey(bytes: Uint8Array): EntryKey {
  const parent: string[] = [];
  let off = 0;
  for (;;) {
    const end = bytes.indexOf(0, off);
    if (end < 0) throw new Error('malformed sort key');
    if (end === off) break;
    parent.push(decoder.decode(bytes.subarray(off, end)));
    off = end + 1;
  }
  off++;
  const end = bytes.indexOf(0, off);
  if (end < 0 || end + 2 !== bytes.length) throw new Error('malformed sort key');
  const name = decoder.decode(bytes.subarray(off, end));
  return { parent, name, rank: bytes[end + 1]! };
}

/**
 * The prefix shared by the sort keys of every entry strictly below the directory `dir` (its whole
 * sub-tree), and only by them, except that for the root it also matches the root entry itself.
 */
export function subtreePrefix(dir: EntryPath): Buffer {
  const comps = splitPath(dir);
  const parts: Buffer[] = [];
  for (const c of comps) parts.push(Buffer.from(c, 'utf8'), Buffer.of(0));
  return Buffer.concat(parts);
}

/** The prefix shared by the sort keys of the direct children of the directory `dir`, and only them. */
export function childrenPrefix(dir: EntryPath): Buffer {
  return Buffer.concat([subtreePrefix(dir), Buffer.of(0)]);
}

/** The sort key of the root directory. */
export const ROOT_SORT_KEY: Buffer = sortKey('/', 'directory');

/** True if `key` starts with `prefix`. */
export function hasPrefix(key: Uint8Array, prefix: Uint8Array): boolean {
  if (key.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (key[i] !== prefix[i]) return false;
  return true;
}
