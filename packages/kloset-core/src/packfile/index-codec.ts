/**
 * The pack index (FORMAT.md §5): a msgpack array with one entry per blob, in packfile order,
 * `[kind, id, offset, length, raw_length]`. The same entry shape lists blobs in states (§6).
 */

import { decodeMsgpack, encodeMsgpack, type MsgpackValue } from '../encoding/msgpack.ts';
import { readArray, readBin, readUint } from '../encoding/msgpack-readers.ts';
import type { BlobId, BlobKind } from '../repository/blob-store.ts';

/** One blob of a packfile: where its sealed payload sits and how long its plaintext is. */
export interface PackIndexEntry {
  readonly kind: BlobKind;
  readonly id: BlobId;
  /** Offset of the sealed blob in the packfile. */
  readonly offset: number;
  /** Length of the sealed blob. */
  readonly length: number;
  /** Length of the plaintext. */
  readonly rawLength: number;
}

/** Blob kinds this implementation knows (FORMAT.md §4.3). */
const KNOWN_KINDS: ReadonlySet<number> = new Set([1, 2]);

/** The msgpack form of one entry. */
export function entryToWire(e: PackIndexEntry): MsgpackValue[] {
  return [e.kind, e.id, e.offset, e.length, e.rawLength];
}

/** Parses the msgpack form of one entry; `what` names it in errors. */
export function entryFromWire(value: unknown, what: string): PackIndexEntry {
  const a = readArray(value, what);
  if (a.length < 5) throw new Error(`${what}: expected 5 fields, got ${a.length}`);
  const kind = readUint(a[0], `${what} kind`);
  if (!KNOWN_KINDS.has(kind)) throw new Error(`${what}: unknown blob kind ${kind}`);
  return {
    kind: kind as BlobKind,
    id: readBin(a[1], `${what} id`, 32),
    offset: readUint(a[2], `${what} offset`),
    length: readUint(a[3], `${what} length`),
    rawLength: readUint(a[4], `${what} raw_length`),
  };
}

/** Encodes a pack index. */
export function encodePackIndex(entries: readonly PackIndexEntry[]): Uint8Array {
  return encodeMsgpack(entries.map(entryToWire));
}

/** Decodes a pack index; throws naming the problem on malformed input. */
export function decodePackIndex(bytes: Uint8Array): PackIndexEntry[] {
  const list = readArray(decodeMsgpack(bytes), 'pack index');
  return list.map((e, i) => entryFromWire(e, `pack index entry ${i}`));
}

function uintSize(n: number): number {
  if (n < 0x80) return 1;
  if (n < 0x100) return 2;
  if (n < 0x10000) return 3;
  if (n <= 0xffff_ffff) return 5;
  return 9;
}

/** Exact encoded size of one entry in the pack index (fixarray + kind + bin8(32) + three uints). */
export function encodedEntrySize(e: Omit<PackIndexEntry, 'id'>): number {
  return 1 + uintSize(e.kind) + 34 + uintSize(e.offset) + uintSize(e.length) + uintSize(e.rawLength);
}

/** Size of the msgpack array header for `count` entries. */
export function arrayHeaderSize(count: number): number {
  if (count < 16) return 1;
  if (count < 0x10000) return 3;
  return 5;
}
