/**
 * The entry codec (docs/FORMAT.md §8.2): an entry is a msgpack map. Writers omit optional keys
 * whose value is nil or empty; readers treat an absent key as nil (or empty) and ignore unknown keys.
 */
import type { EntryMetadata, EntryType } from '@kloset/connector-contract';
import { decodeMsgpack, encodeMsgpack, type MsgpackValue, wideInt } from '../encoding/msgpack.ts';
import {
  type DecodedMap,
  readArray,
  readBin,
  readInt,
  readMap,
  readOptInt,
  readOptString,
  readString,
} from '../encoding/msgpack-readers.ts';
import type { ChunkRef, SnapshotEntry } from './entry.ts';

/** The map written for an entry, before encoding. */
export function entryToMap(e: SnapshotEntry): Record<string, MsgpackValue> {
  const m: Record<string, MsgpackValue> = {
    path: e.path,
    type: e.type,
    size: wideInt(e.size),
    mtime: [wideInt(e.mtime.sec), e.mtime.nsec],
  };
  if (e.mode !== undefined) m.mode = e.mode;
  if (e.uid !== undefined) m.uid = wideInt(e.uid);
  if (e.gid !== undefined) m.gid = wideInt(e.gid);
  if (e.linkTarget !== undefined) m.link = e.linkTarget;
  if (e.nameBytes !== undefined) m.name_bytes = e.nameBytes;
  if (e.linkTargetBytes !== undefined) m.link_bytes = e.linkTargetBytes;
  const metaKeys = Object.keys(e.metadata);
  if (metaKeys.length > 0) m.meta = e.metadata;
  if (e.changeToken !== undefined) m.token = e.changeToken;
  if (e.chunks.length > 0) m.chunks = e.chunks.map((c) => [c.id, wideInt(c.length)]);
  if (e.error !== undefined) m.error = e.error;
  return m;
}

/** Encodes an entry as a msgpack map. */
export function encodeEntry(e: SnapshotEntry): Uint8Array {
  return encodeMsgpack(entryToMap(e));
}

const TYPES: ReadonlySet<string> = new Set(['file', 'directory', 'symlink']);

/** Decodes an entry from its decoded msgpack map. */
export function entryFromMap(value: unknown): SnapshotEntry {
  const m = readMap(value, 'snapshot entry');
  const path = readString(m.path, 'entry path');
  const ctx = `entry ${path}`;
  const type = readString(m.type, `${ctx}: type`);
  if (!TYPES.has(type)) throw new Error(`${ctx}: unknown type ${JSON.stringify(type)}`);
  const mtime = readArray(m.mtime, `${ctx}: mtime`);
  const entry: {
    -readonly [K in keyof SnapshotEntry]: SnapshotEntry[K];
  } = {
    path,
    type: type as EntryType,
    size: readInt(m.size, `${ctx}: size`),
    mtime: { sec: readInt(mtime[0], `${ctx}: mtime`), nsec: readInt(mtime[1], `${ctx}: mtime`) },
    metadata: readMeta(m, ctx),
    chunks: readChunks(m, ctx),
  };
  const mode = readOptInt(m.mode, `${ctx}: mode`);
  if (mode !== undefined) entry.mode = mode;
  const uid = readOptInt(m.uid, `${ctx}: uid`);
  if (uid !== undefined) entry.uid = uid;
  const gid = readOptInt(m.gid, `${ctx}: gid`);
  if (gid !== undefined) entry.gid = gid;
  const link = readOptString(m.link, `${ctx}: link`);
  if (link !== undefined) entry.linkTarget = link;
  const nameBytes = readOptBin(m.name_bytes, `${ctx}: name_bytes`);
  if (nameBytes !== undefined) entry.nameBytes = nameBytes;
  const linkBytes = readOptBin(m.link_bytes, `${ctx}: link_bytes`);
  if (linkBytes !== undefined) entry.linkTargetBytes = linkBytes;
  const token = readOptString(m.token, `${ctx}: token`);
  if (token !== undefined) entry.changeToken = token;
  const error = readOptString(m.error, `${ctx}: error`);
  if (error !== undefined) entry.error = error;
  return entry;
}

/** Decodes an entry from its msgpack bytes. */
export function decodeEntry(bytes: Uint8Array): SnapshotEntry {
  return entryFromMap(decodeMsgpack(bytes));
}

/** An optional bin, copied (a view would keep the whole decoded node alive). */
function readOptBin(value: unknown, what: string): Uint8Array | undefined {
  return value === undefined || value === null ? undefined : readBin(value, what).slice();
}

function readMeta(m: DecodedMap, ctx: string): EntryMetadata {
  if (m.meta === undefined || m.meta === null) return {};
  const meta = readMap(m.meta, `${ctx}: meta`);
  for (const [k, v] of Object.entries(meta)) readString(v, `${ctx}: meta ${k}`);
  return meta as EntryMetadata;
}

function readChunks(m: DecodedMap, ctx: string): ChunkRef[] {
  if (m.chunks === undefined || m.chunks === null) return [];
  return readArray(m.chunks, `${ctx}: chunks`).map((c, i) => {
    const pair = readArray(c, `${ctx}: chunk ${i}`);
    return {
      id: readBin(pair[0], `${ctx}: chunk ${i} id`, 32),
      length: readInt(pair[1], `${ctx}: chunk ${i}`),
    };
  });
}
