/**
 * Tree node codec (docs/FORMAT.md §8.2):
 * - leaf: `{ leaf: true, entries: [entry, ...] }`, entries in key order;
 * - internal: `{ leaf: false, children: [{ first: key, node: bin(32), count: int }, ...] }`, where
 *   `first` is `[[components...], name, type_rank]`, the smallest key below that child, and `count`
 *   the number of entries below it.
 *
 * Writers assemble nodes from items encoded one by one (so that node sizes are known as they
 * fill); decoding turns every key into its sort key for binary search.
 */

import { decodeMsgpack, encodeMsgpack, wideInt } from '../encoding/msgpack.ts';
import { readArray, readBin, readInt, readMap, readString } from '../encoding/msgpack-readers.ts';
import type { BlobId } from '../repository/blob-store.ts';
import type { SnapshotEntry } from './entry.ts';
import { entryFromMap } from './entry-codec.ts';
import { type EntryKey, sortKey, sortKeyOf } from './entry-key.ts';

/** A decoded leaf: entries with their sort keys, in key order. */
export interface LeafNode {
  readonly leaf: true;
  readonly keys: readonly Buffer[];
  readonly entries: readonly SnapshotEntry[];
}

/** A decoded internal node: for each child, the sort key of its first entry, its id and count. */
export interface InternalNode {
  readonly leaf: false;
  readonly keys: readonly Buffer[];
  readonly children: readonly BlobId[];
  readonly counts: readonly number[];
}

export type TreeNode = LeafNode | InternalNode;

const LEAF_HEAD = encodeMsgpack('leaf');
const ENTRIES = encodeMsgpack('entries');
const CHILDREN = encodeMsgpack('children');

function arrayHeader(n: number): Uint8Array {
  if (n < 16) return Uint8Array.of(0x90 | n);
  if (n < 0x10000) return Uint8Array.of(0xdc, n >> 8, n & 0xff);
  return Uint8Array.of(0xdd, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

/** Size of the framing `encodeNode` adds around `count` items. */
export function nodeOverhead(count: number): number {
  const head = count < 16 ? 1 : count < 0x10000 ? 3 : 5;
  return 1 + LEAF_HEAD.length + 1 + Math.max(ENTRIES.length, CHILDREN.length) + head;
}

/**
 * Encodes a node from its items already encoded as msgpack values: entries (leaf) or child
 * references (internal, see `encodeChildRef`).
 */
export function encodeNode(leaf: boolean, items: readonly Uint8Array[]): Uint8Array {
  const head = arrayHeader(items.length);
  const label = leaf ? ENTRIES : CHILDREN;
  let size = 1 + LEAF_HEAD.length + 1 + label.length + head.length;
  for (const it of items) size += it.length;
  const out = new Uint8Array(size);
  let off = 0;
  out[off++] = 0x82; // fixmap, 2 pairs
  out.set(LEAF_HEAD, off);
  off += LEAF_HEAD.length;
  out[off++] = leaf ? 0xc3 : 0xc2;
  out.set(label, off);
  off += label.length;
  out.set(head, off);
  off += head.length;
  for (const it of items) {
    out.set(it, off);
    off += it.length;
  }
  return out;
}

/** Encodes the reference to a child node for an internal node. */
export function encodeChildRef(first: EntryKey, node: BlobId, count: number): Uint8Array {
  return encodeMsgpack({ first: [first.parent, first.name, first.rank], node, count: wideInt(count) });
}

/** Decodes a tree node; `what` names it in errors (e.g. the blob id). */
export function decodeNode(bytes: Uint8Array, what: string): TreeNode {
  const m = readMap(decodeMsgpack(bytes), what);
  if (m.leaf === true) {
    const entries = readArray(m.entries, `${what}: entries`).map(entryFromMap);
    return { leaf: true, entries, keys: entries.map((e) => sortKey(e.path, e.type)) };
  }
  if (m.leaf !== false) throw new Error(`${what}: missing leaf flag`);
  const refs = readArray(m.children, `${what}: children`);
  if (refs.length === 0) throw new Error(`${what}: internal node without children`);
  const keys: Buffer[] = [];
  const children: BlobId[] = [];
  const counts: number[] = [];
  refs.forEach((r, i) => {
    const ref = readMap(r, `${what}: child ${i}`);
    const first = readArray(ref.first, `${what}: child ${i} key`);
    const parent = readArray(first[0], `${what}: child ${i} key`).map((c) => readString(c, `${what}: key`));
    const key: EntryKey = {
      parent,
      name: readString(first[1], `${what}: child ${i} key`),
      rank: readInt(first[2], `${what}: child ${i} key`),
    };
    keys.push(sortKeyOf(key));
    children.push(readBin(ref.node, `${what}: child ${i} node`, 32));
    counts.push(readInt(ref.count, `${what}: child ${i} count`));
  });
  return { leaf: false, keys, children, counts };
}
