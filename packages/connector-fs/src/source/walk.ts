/** The directory walk of FsSource: depth first, streaming, one open directory per level. */
import type { Buffer } from 'node:buffer';
import { type BigIntStats, type Dirent, lstatSync, type Dir as NodeDir, opendirSync } from 'node:fs';
import { lstat, opendir, readlink, stat } from 'node:fs/promises';
import {
  ConnectorError,
  type EntryPath,
  type EntryType,
  isValidComponent,
  joinPath,
  nameFromBytes,
  type SourceRecord,
} from '@kloset/connector-contract';
import { errnoOf, fsError, reasonOf } from '../fs-errors.ts';
import { InlineCalls } from '../inline-calls.ts';
import { childPath, isLong, type NativePath, shownPath, withShortPath } from '../native-path.ts';
import { entryTypeOf, errorRecord, recordFromStat } from './entry-record.ts';

/** How many entries of one directory are read and lstat'ed at once. */
const BATCH = 32;

/**
 * An open directory whose entries' names come as bytes. Its entries are read a batch at a time,
 * through InlineCalls: inline, `readSync` takes them from Node's buffer (refilled by one
 * synchronous readdir call per BATCH entries) without a promise and a tick per entry.
 */
interface Dir {
  /** The next batch of at most BATCH entries; empty at the end. */
  readBatch(): Promise<Dirent<Buffer>[]>;
  close(): Promise<void>;
}

/** `encoding: 'buffer'` (names as bytes), which Node's types of opendir omit. */
const DIR_OPTIONS = { bufferSize: BATCH, encoding: 'buffer' as BufferEncoding };

/** Opens a directory to read its names as bytes. */
async function openDir(absPath: NativePath, calls: InlineCalls): Promise<Dir> {
  const dir = isLong(absPath)
    ? await withShortPath(absPath, (p) => opendir(p, DIR_OPTIONS))
    : await calls.run(
        () => opendirSync(absPath, DIR_OPTIONS),
        () => opendir(absPath, DIR_OPTIONS),
      );
  return {
    readBatch: async () => {
      try {
        return await calls.run(
          () => readBatchSync(dir),
          () => readBatchPooled(dir),
        );
      } catch (err) {
        throw fsError(err, 'readdir', shownPath(absPath));
      }
    },
    // closedir releases a descriptor and a buffer: no disk I/O, nothing for the thread pool.
    close: async () => dir.closeSync(),
  };
}

function readBatchSync(dir: NodeDir): Dirent<Buffer>[] {
  const batch: Dirent<Buffer>[] = [];
  while (batch.length < BATCH) {
    const d = dir.readSync() as Dirent<string | Buffer> | null as Dirent<Buffer> | null;
    if (!d) break;
    batch.push(d);
  }
  return batch;
}

async function readBatchPooled(dir: NodeDir): Promise<Dirent<Buffer>[]> {
  const batch: Dirent<Buffer>[] = [];
  while (batch.length < BATCH) {
    const d = (await dir.read()) as Dirent<string | Buffer> | null as Dirent<Buffer> | null;
    if (!d) break;
    batch.push(d);
  }
  return batch;
}

/** An entry of a directory, stat'ed. */
interface Stated {
  readonly path: EntryPath;
  readonly absPath: NativePath;
  /** The name's bytes when they are not the UTF-8 of the path's last component. */
  readonly nameBytes?: Uint8Array;
  readonly type: EntryType;
  readonly stat: BigIntStats;
}

/**
 * Walks the directory `rootAbs` (which must exist and be a directory; a symlink to one is
 * followed) and yields one record per directory, file and symlink, the root as `/` first.
 * Symlinks are not followed. Sockets, fifos and devices are skipped. Entries that cannot be read
 * are yielded with `error`. At most one directory per level is open, and memory is bounded by the
 * depth of the tree times two batches of 32 entries (the one being yielded, the next one read ahead).
 * The lstat of each entry runs through `calls`: inline while lstat is fast, else in the thread pool.
 */
export async function* walk(
  rootAbs: string,
  signal?: AbortSignal,
  calls: InlineCalls = new InlineCalls(),
): AsyncGenerator<SourceRecord> {
  signal?.throwIfAborted();
  let rootStat: BigIntStats;
  let dir: Dir;
  try {
    rootStat = await stat(rootAbs, { bigint: true });
    if (!rootStat.isDirectory()) {
      throw new ConnectorError('invalid', `source ${rootAbs} is not a directory`, {
        op: 'scan',
        key: rootAbs,
      });
    }
    dir = await openDir(rootAbs, calls);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') {
      throw new ConnectorError('not_found', `source directory ${rootAbs} does not exist`, {
        op: 'scan',
        key: rootAbs,
      });
    }
    throw fsError(err, 'scan', rootAbs);
  }
  yield* yieldThenWalk(
    recordFromStat('/', rootAbs, 'directory', rootStat, calls),
    dir,
    rootAbs,
    calls,
    signal,
  );
}

/** Yields the record of a directory, then walks it; closes `dir` even if the walk never starts. */
async function* yieldThenWalk(
  record: SourceRecord,
  dir: Dir,
  absPath: NativePath,
  calls: InlineCalls,
  signal?: AbortSignal,
): AsyncGenerator<SourceRecord> {
  let handedOver = false;
  try {
    signal?.throwIfAborted();
    yield record;
    handedOver = true;
  } finally {
    if (!handedOver) await dir.close().catch(() => {});
  }
  yield* walkDir(dir, record.path, absPath, calls, signal);
}

/** Yields the entries of an opened directory (closing it at the end), descending into subdirectories. */
async function* walkDir(
  dir: Dir,
  path: EntryPath,
  absPath: NativePath,
  calls: InlineCalls,
  signal?: AbortSignal,
): AsyncGenerator<SourceRecord> {
  const nextBatch = async () => {
    const batch = await dir.readBatch();
    return Promise.all(batch.map((d) => statEntry(d, path, absPath, calls)));
  };
  // The next batch is read (and, when lstat goes to the thread pool, lstat'ed) while the consumer
  // works on this one and on the subdirectories in it: the walk does not wait on the pool between
  // batches. Inline lstats of the next batch run when its directory read completes.
  let next: Promise<Awaited<ReturnType<typeof nextBatch>>> | undefined = nextBatch();
  try {
    for (;;) {
      const entries = await next;
      next = undefined;
      if (entries.length === 0) return;
      next = nextBatch();
      next.catch(() => {}); // awaited above on the next turn; not an unhandled rejection meanwhile
      for (const entry of entries) {
        if (!entry) continue;
        signal?.throwIfAborted();
        if (!('stat' in entry)) {
          yield entry;
        } else if (entry.type === 'directory') {
          let sub: Dir;
          try {
            sub = await openDir(entry.absPath, calls);
          } catch (err) {
            yield recordFromStat(entry.path, entry.absPath, 'directory', entry.stat, calls, {
              nameBytes: entry.nameBytes,
              error: `opendir: ${reasonOf(err)}`,
            });
            continue;
          }
          yield* yieldThenWalk(
            recordFromStat(entry.path, entry.absPath, 'directory', entry.stat, calls, {
              nameBytes: entry.nameBytes,
            }),
            sub,
            entry.absPath,
            calls,
            signal,
          );
        } else if (entry.type === 'symlink') {
          yield await symlinkRecord(entry, calls);
        } else {
          yield recordFromStat(entry.path, entry.absPath, entry.type, entry.stat, calls, {
            nameBytes: entry.nameBytes,
          });
        }
      }
    }
  } finally {
    // A prefetch still running must end before its directory closes.
    if (next) await next.catch(() => {});
    await dir.close().catch(() => {});
  }
}

async function symlinkRecord(entry: Stated, calls: InlineCalls): Promise<SourceRecord> {
  const { path, absPath, stat: st, nameBytes } = entry;
  try {
    const target = await withShortPath(absPath, (p) => readlink(p, { encoding: 'buffer' }));
    const { name: linkTarget, escaped } = nameFromBytes(target);
    return recordFromStat(path, absPath, 'symlink', st, calls, {
      nameBytes,
      linkTarget,
      ...(escaped ? { linkTargetBytes: target } : {}),
    });
  } catch (err) {
    return recordFromStat(path, absPath, 'symlink', st, calls, {
      nameBytes,
      error: `readlink: ${reasonOf(err)}`,
    });
  }
}

/**
 * lstat of one directory entry: a Stated entry, an error record when lstat fails, or undefined
 * for entries that are not backed up (sockets, fifos, devices). A name that is not UTF-8 becomes
 * its escaped form in the path (nameFromBytes) and is kept as bytes (`nameBytes`).
 */
async function statEntry(
  d: Dirent<Buffer>,
  parent: EntryPath,
  parentAbs: NativePath,
  calls: InlineCalls,
): Promise<Stated | SourceRecord | undefined> {
  const { name, escaped } = nameFromBytes(d.name);
  if (!isValidComponent(name)) return undefined;
  const nameBytes = escaped ? d.name : undefined;
  const absPath = childPath(parentAbs, nameBytes ?? name);
  const path = joinPath(parent, name);
  const guess: EntryType = d.isDirectory() ? 'directory' : d.isSymbolicLink() ? 'symlink' : 'file';
  try {
    const st = isLong(absPath)
      ? await withShortPath(absPath, (p) => lstat(p, { bigint: true }))
      : await calls.run(
          () => lstatSync(absPath, { bigint: true }),
          () => lstat(absPath, { bigint: true }),
        );
    const type = entryTypeOf(st);
    return type ? { path, absPath, type, stat: st, ...(nameBytes ? { nameBytes } : {}) } : undefined;
  } catch (err) {
    const reason = errnoOf(err) === 'ENOENT' ? 'vanished during the scan' : `lstat: ${reasonOf(err)}`;
    return errorRecord(path, absPath, guess, reason, nameBytes);
  }
}
