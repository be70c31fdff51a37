/**
 * The body of a `state` resource (FORMAT.md §6): an index delta listing packfiles and their blobs,
 * and packfiles removed by maintenance.
 */

import { decodeMsgpack, encodeMsgpack } from '../encoding/msgpack.ts';
import { readArray, readBin, readMap, readUint } from '../encoding/msgpack-readers.ts';
import { entryFromWire, entryToWire } from '../packfile/index-codec.ts';
import type { IndexedPackfile } from './index-cache.ts';

/** The format version of state bodies this code writes and reads. */
export const STATE_VERSION = 1;
/** A writer splits its states so that none lists more than this many blobs (FORMAT.md §6). */
export const STATE_MAX_BLOBS = 100_000;

/** A decoded state. */
export interface StateBody {
  /** Unix seconds. */
  readonly time: number;
  readonly packfiles: readonly IndexedPackfile[];
  readonly deletedPackfiles: readonly Uint8Array[];
}

/** Encodes a state body. */
export function encodeState(state: StateBody): Uint8Array {
  return encodeMsgpack({
    version: STATE_VERSION,
    time: state.time,
    packfiles: state.packfiles.map((p) => ({
      id: p.id,
      ...(p.size === undefined ? {} : { size: p.size }),
      blobs: p.blobs.map(entryToWire),
    })),
    deleted_packfiles: state.deletedPackfiles,
  });
}

/** Decodes a state body; throws naming the first problem. Unknown keys are ignored. */
export function decodeState(bytes: Uint8Array): StateBody {
  const map = readMap(decodeMsgpack(bytes), 'state');
  const version = readUint(map.version, 'state version');
  if (version !== STATE_VERSION) throw new Error(`state version ${version} is not supported`);
  const packfiles = readArray(map.packfiles ?? [], 'state packfiles').map((value, i): IndexedPackfile => {
    const p = readMap(value, `state packfile ${i}`);
    return {
      id: readBin(p.id, `state packfile ${i} id`, 32),
      size:
        p.size === undefined || p.size === null ? undefined : readUint(p.size, `state packfile ${i} size`),
      blobs: readArray(p.blobs, `state packfile ${i} blobs`).map((b, j) =>
        entryFromWire(b, `state packfile ${i} blob ${j}`),
      ),
    };
  });
  const deletedPackfiles = readArray(map.deleted_packfiles ?? [], 'state deleted_packfiles').map((v, i) =>
    readBin(v, `state deleted packfile ${i}`, 32),
  );
  return { time: readUint(map.time, 'state time'), packfiles, deletedPackfiles };
}
