/** FsDestination: restores entries into a local directory. */
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  futimesSync,
  open as openCb,
  openSync,
  write,
  writeSync,
} from 'node:fs';
import {
  chmod,
  chown,
  lchown,
  lstat,
  lutimes,
  mkdir,
  rename,
  stat,
  symlink,
  unlink,
  utimes,
} from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  baseName,
  ConnectorError,
  type ContentStream,
  type Destination,
  type EntryAttributes,
  type EntryPath,
  type ExistingEntry,
  isValidPath,
  nameFromBytes,
  parentPath,
  splitPath,
  type Timestamp,
  type WriteOptions,
  type WriteResult,
} from '@kloset/connector-contract';
import { closeQuietly, readInto } from '../fd-io.ts';
import { errnoOf, fsError, reasonOf } from '../fs-errors.ts';
import { InlineCalls, type InlineCallsOptions } from '../inline-calls.ts';
import { childPath, NAME_MAX, type NativePath, shownPath, withShortPath } from '../native-path.ts';
import { utimesSeconds } from '../time.ts';
import { readExistingFile, statExisting } from './existing.ts';
import { removeStaleTemps, tempName } from './temp-names.ts';

/** Options of FsDestination. */
export interface FsDestinationOptions {
  /** Writes at once. Default 8. */
  readonly concurrency?: number;
  /** Restore uid/gid. Default: only when running as root (others cannot chown). */
  readonly owners?: boolean;
  /** When file creation and small writes run on the calling thread (see InlineCalls). */
  readonly inlineCalls?: InlineCallsOptions;
}

/** Writes up to this length may run on the calling thread; longer ones always go to the thread pool. */
export const INLINE_WRITE_MAX = 64 * 1024;

/** Attributes of a directory, applied by finish(). */
interface DeferredDir {
  readonly absPath: NativePath;
  readonly depth: number;
  readonly entry: EntryAttributes;
}

/**
 * A Destination restoring into a local directory. Paths must be valid EntryPaths and every parent
 * must have been restored as a directory first, so nothing is written outside the target (not
 * through a symlink either). Files are written to a temporary name next to their final one, get
 * their mode and mtime, and are renamed into place; a content stream that throws removes the
 * temporary file. Symlinks are created the same way (with lutimes). Directory modes and mtimes
 * are applied by finish(), deepest first, so that restoring children does not disturb them.
 * mtimes round-trip to about a quarter of a microsecond (Node has no nanosecond utimes).
 * An entry with `nameBytes` is written under those bytes (a name that was not UTF-8 in the source);
 * paths longer than the kernel takes in one call (PATH_MAX) are reached through a directory
 * descriptor (native-path.ts).
 */
export class FsDestination implements Destination {
  readonly location: string;
  readonly concurrency: number;
  /** Each chunk is written (and the write awaited) before the next is asked for. */
  readonly releasesChunks = true;
  readonly #root: string;
  readonly #owners: boolean;
  readonly #calls: InlineCalls;
  /** Restored directories (memory grows with their count: their attributes wait for finish). */
  readonly #dirs = new Map<EntryPath, DeferredDir>();
  /** The names as bytes of the files restored with `nameBytes`, for readWritten. */
  readonly #fileNameBytes = new Map<EntryPath, Uint8Array>();

  /** `root` is resolved against the current directory; it is created if missing. */
  constructor(root: string, options: FsDestinationOptions = {}) {
    this.#root = resolve(root);
    this.location = this.#root;
    this.concurrency = options.concurrency ?? 8;
    this.#owners = options.owners ?? process.getuid?.() === 0;
    this.#calls = new InlineCalls(options.inlineCalls);
  }

  /** What exists at `entry`'s place now (Destination.stat): lstat, and readlink for a symlink. */
  stat(entry: EntryAttributes): Promise<ExistingEntry | undefined> {
    return statExisting(this.#root, entry);
  }

  /** Bytes of the regular file at `entry`'s place now (Destination.readExisting), never through a symlink. */
  readExisting(entry: EntryAttributes, offset: number, into: Uint8Array): Promise<Uint8Array | undefined> {
    return readExistingFile(this.#root, entry, offset, into);
  }

  async write(entry: EntryAttributes, content?: ContentStream, options?: WriteOptions): Promise<WriteResult> {
    const { path } = entry;
    if (!isValidPath(path))
      return { path, ok: false, error: `invalid path ${JSON.stringify(path)}: not restored` };
    if (path !== '/' && !this.#dirs.has(parentPath(path))) {
      return {
        path,
        ok: false,
        error: `parent directory ${parentPath(path)} was not restored: ${path} skipped`,
      };
    }
    const { nameBytes } = entry;
    if (nameBytes !== undefined && !nameBytesMatch(nameBytes, path)) {
      return { path, ok: false, error: `name bytes of ${path} do not match its path: not restored` };
    }
    if (path === '/' && entry.type !== 'directory') {
      return { path, ok: false, error: `a ${entry.type} cannot be the restored root: not restored` };
    }
    const dirAbs = path === '/' ? this.#root : this.#dirs.get(parentPath(path))!.absPath;
    const name = nameBytes ?? baseName(path);
    const absPath = path === '/' ? this.#root : childPath(dirAbs, name);
    const createOnly = options?.createOnly === true;
    try {
      switch (entry.type) {
        case 'directory':
          await this.#directory(entry, absPath);
          break;
        case 'file':
          if (!content)
            throw new ConnectorError('invalid', `write of file ${path} without content`, { key: path });
          // A long path: the file is reached through its directory (one descriptor for the write).
          await withShortPath(
            dirAbs,
            (dir) => this.#file(entry, dir, name, content, createOnly),
            NAME_MAX + 1,
          );
          if (nameBytes !== undefined) this.#fileNameBytes.set(path, nameBytes);
          break;
        case 'symlink':
          await withShortPath(dirAbs, (dir) => this.#symlink(entry, dir, name, createOnly), NAME_MAX + 1);
          break;
      }
      return { path, ok: true };
    } catch (err) {
      if (err instanceof AlreadyThere) {
        return { path, ok: false, exists: true, error: `${shownPath(absPath)} exists: not replaced` };
      }
      // The content's own error propagates (the engine records it); ours become a result.
      if (err instanceof ContentFailure) throw err.cause;
      if (err instanceof ConnectorError || (err instanceof Error && 'code' in err)) {
        return { path, ok: false, error: fsError(err, `restore ${entry.type}`, shownPath(absPath)).message };
      }
      throw err;
    }
  }

  async finish(): Promise<void> {
    const dirs = [...this.#dirs.values()].sort((a, b) => b.depth - a.depth);
    const failures: string[] = [];
    for (const d of dirs) {
      try {
        await withShortPath(d.absPath, async (p) => {
          if (this.#owners && d.entry.uid !== undefined && d.entry.gid !== undefined) {
            await chown(p, d.entry.uid, d.entry.gid);
          }
          if (d.entry.mode !== undefined) await chmod(p, d.entry.mode);
          await utimes(p, utimesSeconds(d.entry.mtime), utimesSeconds(d.entry.mtime));
        });
      } catch (err) {
        failures.push(`${shownPath(d.absPath)}: ${reasonOf(err)}`);
      }
    }
    if (failures.length > 0) {
      throw new ConnectorError(
        'permission',
        `could not set the attributes of ${failures.length} directories, first: ${failures[0]}`,
        { op: 'finish', container: this.#root },
      );
    }
  }

  async close(): Promise<void> {}

  /**
   * Reads back a file restored in this session (Destination.readWritten): one open (refusing a
   * symlink in place of the file), reads, close. Undefined on any failure or a short read.
   */
  async readWritten(path: EntryPath, offset: number, into: Uint8Array): Promise<Uint8Array | undefined> {
    if (!isValidPath(path) || path === '/' || !Number.isSafeInteger(offset) || offset < 0) return undefined;
    const dir = this.#dirs.get(parentPath(path));
    if (dir === undefined) return undefined;
    const absPath = childPath(dir.absPath, this.#fileNameBytes.get(path) ?? baseName(path));
    let fd: number;
    try {
      fd = await withShortPath(absPath, openToReadNoFollow);
    } catch {
      return undefined;
    }
    try {
      return (await readInto(fd, into, offset)) === into.length ? into : undefined;
    } catch {
      return undefined;
    } finally {
      closeQuietly(fd);
    }
  }

  async #directory(entry: EntryAttributes, absPath: NativePath): Promise<void> {
    if (entry.path === '/') {
      const made = await mkdir(absPath, { recursive: true, mode: 0o700 });
      if (!(await stat(absPath)).isDirectory()) {
        throw new ConnectorError('invalid', `restore target ${shownPath(absPath)} is not a directory`, {
          key: shownPath(absPath),
        });
      }
      // An existing target may hold what a killed restore left (temp-names.ts).
      if (made === undefined) await removeStaleTemps(absPath);
    } else {
      await withShortPath(absPath, async (p) => {
        try {
          // Owner-only until finish() applies the real mode: children must be writable.
          await mkdir(p, { mode: 0o700 });
        } catch (err) {
          const existing = await lstat(p).catch(() => undefined);
          if (!existing?.isDirectory()) throw err;
          await removeStaleTemps(p);
        }
      });
    }
    this.#dirs.set(entry.path, { absPath, depth: splitPath(entry.path).length, entry });
  }

  /**
   * A file that does not exist yet is created under its final name (exclusively, 0600) and removed
   * again if its content fails; a file that exists is written to a temporary name, then renamed
   * over it, so it is replaced whole or not at all (with `createOnly`, it is left as it is:
   * AlreadyThere, and the content is not read). Either way no partial file stays under the
   * final name after a failure (a crash may leave one that was new, as with restic and tar).
   * The creation and writes of up to INLINE_WRITE_MAX bytes run on this thread while they are fast
   * (InlineCalls), larger writes in the thread pool; the attribute calls on the open descriptor and
   * its close are synchronous (no disk I/O: the data is in the page cache, and nothing is fsynced,
   * like restic and tar).
   */
  async #file(
    entry: EntryAttributes,
    dir: NativePath,
    name: string | Uint8Array,
    content: ContentStream,
    createOnly: boolean,
  ): Promise<void> {
    const absPath = childPath(dir, name);
    let temp: NativePath | undefined;
    let fd: number;
    try {
      fd = await this.#openNew(absPath);
    } catch (err) {
      if (errnoOf(err) !== 'EEXIST') throw err;
      if (createOnly) throw new AlreadyThere();
      temp = tempName(dir);
      fd = await this.#openNew(temp);
    }
    let committed = false;
    let closed = false;
    try {
      let written = 0;
      const chunks = content[Symbol.asyncIterator]();
      for (;;) {
        let next: IteratorResult<Uint8Array>;
        try {
          next = await chunks.next();
        } catch (err) {
          throw new ContentFailure(err);
        }
        if (next.done) break;
        written += next.value.length;
        if (written > entry.size) {
          await chunks.return?.();
          break;
        }
        await this.#writeAll(fd, next.value);
      }
      if (written !== entry.size) {
        throw new ConnectorError(
          'invalid',
          `content of ${entry.path}: ${written} bytes, expected ${entry.size}`,
          {
            key: entry.path,
          },
        );
      }
      if (this.#owners && entry.uid !== undefined && entry.gid !== undefined) {
        fchownSync(fd, entry.uid, entry.gid);
      }
      if (entry.mode !== undefined) fchmodSync(fd, entry.mode);
      futimesSync(fd, utimesSeconds(entry.mtime), utimesSeconds(entry.mtime));
      closed = true;
      closeSync(fd);
      if (temp !== undefined) await rename(temp, absPath);
      committed = true;
    } finally {
      if (!committed) {
        if (!closed) closeQuietly(fd);
        await unlink(temp ?? absPath).catch(() => {});
      }
    }
  }

  /** Creates `path`, which must not exist, to write (owner-only until its mode is applied). */
  #openNew(path: NativePath): Promise<number> {
    return this.#calls.run(
      () => openSync(path, NEW_FILE_FLAGS, 0o600),
      () => openNew(path),
    );
  }

  /** Writes all of `bytes` at the descriptor's current position. */
  #writeAll(fd: number, bytes: Uint8Array): Promise<void> {
    if (bytes.length > INLINE_WRITE_MAX) return writeAllFd(fd, bytes);
    return this.#calls.run(
      () => writeAllFdSync(fd, bytes),
      () => writeAllFd(fd, bytes),
    );
  }

  /**
   * A symlink is made under a temporary name and renamed into place, replacing what is there; with
   * `createOnly`, it is made under its final name, which fails (AlreadyThere) when that exists.
   */
  async #symlink(
    entry: EntryAttributes,
    dir: NativePath,
    name: string | Uint8Array,
    createOnly: boolean,
  ): Promise<void> {
    if (entry.linkTarget === undefined) {
      throw new ConnectorError('invalid', `symlink ${entry.path} without a target`, { key: entry.path });
    }
    const absPath = childPath(dir, name);
    if (createOnly) {
      try {
        await symlink(linkTargetOf(entry), absPath);
      } catch (err) {
        if (errnoOf(err) === 'EEXIST') throw new AlreadyThere();
        throw err;
      }
      if (this.#owners && entry.uid !== undefined && entry.gid !== undefined) {
        await lchown(absPath, entry.uid, entry.gid);
      }
      await setLinkTime(absPath, entry.mtime);
      return;
    }
    const temp = tempName(dir);
    await symlink(linkTargetOf(entry), temp);
    try {
      if (this.#owners && entry.uid !== undefined && entry.gid !== undefined) {
        await lchown(temp, entry.uid, entry.gid);
      }
      await setLinkTime(temp, entry.mtime);
      await rename(temp, absPath);
    } catch (err) {
      await unlink(temp).catch(() => {});
      throw err;
    }
  }
}

/** A createOnly write found something at the entry's place and wrote nothing. */
class AlreadyThere {}

/** Wraps an error thrown by a content stream, to tell it from a file-system error. */
class ContentFailure {
  readonly cause: unknown;
  constructor(cause: unknown) {
    this.cause = cause;
  }
}

const NEW_FILE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL;

/**
 * True when `nameBytes` are what the last component of `path` stands for (nameFromBytes): a
 * name without `/` or NUL, neither `.` nor `..`, that cannot lead outside its directory.
 */
function nameBytesMatch(nameBytes: Uint8Array, path: EntryPath): boolean {
  if (path === '/') return false;
  const { name, escaped } = nameFromBytes(nameBytes);
  return escaped && name === baseName(path);
}

/** The target to write for a symlink: its bytes when it was not UTF-8 and they match it. */
function linkTargetOf(entry: EntryAttributes): string | Buffer {
  const bytes = entry.linkTargetBytes;
  if (bytes === undefined) return entry.linkTarget!;
  const { name, escaped } = nameFromBytes(bytes);
  if (!escaped || name !== entry.linkTarget) {
    throw new ConnectorError('invalid', `target bytes of symlink ${entry.path} do not match its target`, {
      key: entry.path,
    });
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** openNew in the thread pool. */
function openNew(path: NativePath): Promise<number> {
  return new Promise((resolve, reject) =>
    openCb(path, NEW_FILE_FLAGS, 0o600, (err, fd) => (err ? reject(err) : resolve(fd))),
  );
}

/** Opens an existing file to read, refusing a symlink in place of it. */
function openToReadNoFollow(path: NativePath): Promise<number> {
  return new Promise((resolve, reject) =>
    openCb(path, constants.O_RDONLY | constants.O_NOFOLLOW, (err, fd) => (err ? reject(err) : resolve(fd))),
  );
}

/** writeAll in the thread pool. */
async function writeAllFd(fd: number, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) {
    const n = await new Promise<number>((resolve, reject) =>
      write(fd, bytes, off, bytes.length - off, null, (err, written) =>
        err ? reject(err) : resolve(written),
      ),
    );
    if (n <= 0) throw Object.assign(new Error('write wrote nothing'), { code: 'EIO' });
    off += n;
  }
}

/** writeAll on this thread. */
function writeAllFdSync(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) {
    const n = writeSync(fd, bytes, off, bytes.length - off);
    if (n <= 0) throw Object.assign(new Error('write wrote nothing'), { code: 'EIO' });
    off += n;
  }
}

async function setLinkTime(path: NativePath, mtime: Timestamp): Promise<void> {
  await lutimes(path, utimesSeconds(mtime), utimesSeconds(mtime));
}
