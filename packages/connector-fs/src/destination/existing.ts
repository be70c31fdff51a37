/**
 * What a restore finds already in the target directory: `stat` and `readExisting` of FsDestination
 * (Destination.stat / readExisting). Read-only, and independent of what the restore wrote: the
 * native path of an entry is rebuilt from its EntryPath (a name in the escaped form of
 * nameFromBytes gives its bytes back, escapedNameBytes), so it works before the parents are
 * restored and in a dry run.
 */
import { constants, fstat, open as openCb, type Stats } from 'node:fs';
import { lstat, readlink } from 'node:fs/promises';
import {
  type EntryAttributes,
  type ExistingEntry,
  escapedNameBytes,
  isValidPath,
  nameFromBytes,
  splitPath,
} from '@kloset/connector-contract';
import { closeQuietly, readInto } from '../fd-io.ts';
import { errnoOf, fsError } from '../fs-errors.ts';
import { childPath, type NativePath, shownPath, withShortPath } from '../native-path.ts';

/** Errors meaning that nothing (or no file) is there: a missing name, a parent that is no directory. */
const ABSENT = new Set(['ENOENT', 'ENOTDIR', 'ELOOP', 'EISDIR', 'ENXIO']);

/** A name held in the escaped form of nameFromBytes. */
const ESCAPED = /[\uef80-\uefff]/;

/** The native path of `entry` under `root`, or undefined for an invalid path. */
export function existingPath(root: string, entry: EntryAttributes): NativePath | undefined {
  if (!isValidPath(entry.path)) return undefined;
  const names = splitPath(entry.path);
  let path: NativePath = root;
  names.forEach((name, i) => {
    const last = i === names.length - 1;
    const bytes = last && entry.nameBytes !== undefined ? entry.nameBytes : undefined;
    path = childPath(path, bytes ?? (ESCAPED.test(name) ? escapedNameBytes(name) : name));
  });
  return path;
}

function typeOf(s: Stats): ExistingEntry['type'] {
  if (s.isFile()) return 'file';
  if (s.isDirectory()) return 'directory';
  if (s.isSymbolicLink()) return 'symlink';
  return 'other';
}

/** What exists at `entry`'s place under `root` (without following a symlink there), or undefined. */
export async function statExisting(root: string, entry: EntryAttributes): Promise<ExistingEntry | undefined> {
  const path = existingPath(root, entry);
  if (path === undefined) return undefined;
  try {
    return await withShortPath(path, async (p) => {
      const s = await lstat(p);
      const type = typeOf(s);
      if (type !== 'symlink') return { type, size: type === 'file' ? s.size : 0 };
      const target = await readlink(p, { encoding: 'buffer' });
      return { type, size: 0, linkTarget: nameFromBytes(target).name };
    });
  } catch (err) {
    if (ABSENT.has(errnoOf(err) ?? '')) return undefined;
    throw fsError(err, 'stat existing', shownPath(path), root);
  }
}

/** Opens a regular file to read: never through a symlink, never blocking on a FIFO. */
function openRegularFile(path: NativePath): Promise<number | undefined> {
  const flags = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
  return new Promise((resolve, reject) =>
    openCb(path, flags, (err, fd) => {
      if (err) return reject(err);
      fstat(fd, (e, s) => {
        if (!e && s.isFile()) return resolve(fd);
        closeQuietly(fd);
        return e ? reject(e) : resolve(undefined);
      });
    }),
  );
}

/** Reads `into.length` bytes from `offset` of the file at `entry`'s place; undefined when it cannot. */
export async function readExistingFile(
  root: string,
  entry: EntryAttributes,
  offset: number,
  into: Uint8Array,
): Promise<Uint8Array | undefined> {
  const path = existingPath(root, entry);
  if (path === undefined || !Number.isSafeInteger(offset) || offset < 0) return undefined;
  let fd: number | undefined;
  try {
    fd = await withShortPath(path, openRegularFile);
    if (fd === undefined) return undefined;
    return (await readInto(fd, into, offset)) === into.length ? into : undefined;
  } catch (err) {
    if (ABSENT.has(errnoOf(err) ?? '')) return undefined;
    throw fsError(err, 'read existing', shownPath(path), root);
  } finally {
    if (fd !== undefined) closeQuietly(fd);
  }
}
