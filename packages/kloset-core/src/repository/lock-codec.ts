/** The body of a `lock` resource (FORMAT.md §9). */
import { decodeMsgpack, encodeMsgpack } from '../encoding/msgpack.ts';
import { readMap, readUint } from '../encoding/msgpack-readers.ts';

/** A decoded lock. Times are Unix milliseconds. */
export interface LockBody {
  readonly exclusive: boolean;
  readonly hostname: string;
  readonly pid: number;
  /** Last refresh. */
  readonly time: number;
  /** When the lock was first taken. */
  readonly created: number;
}

/** Encodes a lock body. */
export function encodeLock(lock: LockBody): Uint8Array {
  return encodeMsgpack({
    version: 1,
    exclusive: lock.exclusive,
    hostname: lock.hostname,
    pid: lock.pid,
    time: lock.time,
    created: lock.created,
  });
}

/** Decodes a lock body; throws naming the first problem. */
export function decodeLock(bytes: Uint8Array): LockBody {
  const map = readMap(decodeMsgpack(bytes), 'lock');
  const version = readUint(map.version, 'lock version');
  if (version !== 1) throw new Error(`lock version ${version} is not supported`);
  if (typeof map.exclusive !== 'boolean') throw new Error('lock exclusive: expected a boolean');
  if (typeof map.hostname !== 'string') throw new Error('lock hostname: expected a string');
  return {
    exclusive: map.exclusive,
    hostname: map.hostname,
    pid: readUint(map.pid, 'lock pid'),
    time: readUint(map.time, 'lock time'),
    created: readUint(map.created, 'lock created'),
  };
}
