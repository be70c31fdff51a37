/** FsDestination: restores entries into a local directory. */
import { randomBytes } from 'node:crypto';
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
import { dirname, join, resolve } from 'node:path';
import {
  ConnectorError,
  type ContentStream,
  type Destination,
  type EntryAttributes,
  type EntryPath,
  isValidPath,
  parentPath,
  splitPath,
  type Timestamp,
  type WriteResult,
} from '@kloset/connector-contract';
import { closeQuietly, readInto } from '../fd-io.ts';
import { errnoOf, fsError, reasonOf } from '../fs-errors.ts';
import { InlineCalls, type InlineCallsOptions } from '../inline-calls.ts';
import { utimesSeconds } from '../time.ts';

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
  readonly absPath: string;
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

  /** `root` is resolved against the current directory; it is created if missing. */
  constructor(root: string, options: FsDestinationOptions = {}) {
    this.#root = resolve(root);
    this.location = this.#root;
    this.concurrency = options.concurrency ?? 8;
    this.#owners = options.owners ?? process.getuid?.() === 0;
    this.#calls = new InlineCalls(options.inlineCalls);
  }

  async write(entry: EntryAttributes, content?: ContentStream): Promise<WriteResult> {
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
    const absPath = path === '/' ? this.#root : join(this.#root, ...splitPath(path));
    try {
      switch (entry.type) {
        case 'directory':
          await this.#directory(entry, absPath);
          break;
        case 'file':
          if (!content)
            throw new ConnectorError('invalid', `write of file ${path} without content`, { key: path });
          await this.#file(entry, absPath, content);
          break;
        case 'symlink':
          await this.#symlink(entry, absPath);
          break;
      }
      return { path, ok: true };
    } catch (err) {
      // The content's own error propagates (the engine records it); ours become a result.
      if (err instanceof ContentFailure) throw err.cause;
      if (err instanceof ConnectorError || (err instanceof Error && 'code' in err)) {
        return { path, ok: false, error: fsError(err, `restore ${entry.type}`, absPath).message };
      }
      throw err;
    }
  }

  async finish(): Promise<void> {
    const dirs = [...this.#dirs.values()].sort((a, b) => b.depth - a.depth);
    const failures: string[] = [];
    for (const d of dirs) {
      try {
        if (this.#owners && d.entry.uid !== undefined && d.entry.gid !== undefined) {
          await chown(d.absPath, d.entry.uid, d.entry.gid);
        }
        if (d.entry.mode !== undefined) await chmod(d.absPath, d.entry.mode);
        await utimes(d.absPath, utimesSeconds(d.entry.mtime), utimesSeconds(d.entry.mtime));
      } catch (err) {
        failures.push(`${d.absPath}: ${reasonOf(err)}`);
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
    let fd: number;
    try {
      fd = await openToReadNoFollow(join(this.#root, ...splitPath(path)));
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

  async #directory(entry: EntryAttributes, absPath: string): Promise<void> {
    if (entry.path === '/') {
      await mkdir(absPath, { recursive: true, mode: 0o700 });
      if (!(await stat(absPath)).isDirectory()) {
        throw new ConnectorError('invalid', `restore target ${absPath} is not a directory`, { key: absPath });
      }
    } else {
      try {
        // Owner-only until finish() applies the real mode: children must be writable.
        await mkdir(absPath, { mode: 0o700 });
      } catch (err) {
        const existing = await lstat(absPath).catch(() => undefined);
        if (!existing?.isDirectory()) throw err;
      }
    }
    this.#dirs.set(entry.path, { absPath, depth: splitPath(entry.path).length, entry });
  }

  /**
   * A file that does not exist yet is created under its final name (exclusively, 0600) and removed
   * again if its content fails; a file that exists is written to a temporary name, then renamed
   * over it, so it is replaced whole or not at all. Either way no partial file stays under the
   * final name after a failure (a crash may leave one that was new, as with restic and tar).
   * The creation and writes of up to INLINE_WRITE_MAX bytes run on this thread while they are fast
   * (InlineCalls), larger writes in the thread pool; the attribute calls on the open descriptor and
   * its close are synchronous (no disk I/O: the data is in the page cache, and nothing is fsynced,
   * like restic and tar).
   */
  async #file(entry: EntryAttributes, absPath: string, content: ContentStream): Promise<void> {
    let temp: string | undefined;
    let fd: number;
    try {
      fd = await this.#openNew(absPath);
    } catch (err) {
      if (errnoOf(err) !== 'EEXIST') throw err;
      temp = tempName(absPath);
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
  #openNew(path: string): Promise<number> {
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

  async #symlink(entry: EntryAttributes, absPath: string): Promise<void> {
    if (entry.linkTarget === undefined) {
      throw new ConnectorError('invalid', `symlink ${entry.path} without a target`, { key: entry.path });
    }
    const temp = tempName(absPath);
    await symlink(entry.linkTarget, temp);
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

/** Wraps an error thrown by a content stream, to tell it from a file-system error. */
class ContentFailure {
  readonly cause: unknown;
  constructor(cause: unknown) {
    this.cause = cause;
  }
}

const NEW_FILE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL;

/** openNew in the thread pool. */
function openNew(path: string): Promise<number> {
  return new Promise((resolve, reject) =>
    openCb(path, NEW_FILE_FLAGS, 0o600, (err, fd) => (err ? reject(err) : resolve(fd))),
  );
}

/** Opens an existing file to read, refusing a symlink in place of it. */
function openToReadNoFollow(path: string): Promise<number> {
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

/** Temporary names: a random part drawn once per process, then a counter (creation is exclusive anyway). */
const TEMP_PREFIX = `.kloset-${randomBytes(6).toString('hex')}-`;
let tempCounter = 0;

function tempName(absPath: string): string {
  return join(dirname(absPath), `${TEMP_PREFIX}${(tempCounter++).toString(36)}.tmp`);
}

async function setLinkTime(path: string, mtime: Timestamp): Promise<void> {
  await lutimes(path, utimesSeconds(mtime), utimesSeconds(mtime));
}
