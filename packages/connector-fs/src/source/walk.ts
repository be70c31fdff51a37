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
import { InlineCalls, POOLED } from '../inline-calls.ts';
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
  readonly nameBytes: Uint8Array | undefined;
  readonly type: EntryType;
  readonly stat: BigIntStats;
}

/** What the lstat of a directory entry gives: Stated, an error record, or undefined (not backed up). */
type Entry = Stated | SourceRecord | undefined;

/** A directory being walked: its current batch of entries, and the next one, read ahead. */
interface Level {
  readonly dir: Dir;
  readonly path: EntryPath;
  readonly absPath: NativePath;
  entries: readonly Entry[];
  /** The next entry of `entries` to yield. */
  at: number;
  /** The next batch, being read (undefined while it is awaited). */
  next: Promise<readonly Entry[]> | undefined;
}

/**
 * Walks the directory `rootAbs` (which must exist and be a directory; a symlink to one is
 * followed) and yields one record per directory, file and symlink, the root as `/` first.
 * Symlinks are not followed. Sockets, fifos and devices are skipped. Entries that cannot be read
 * are yielded with `error`. At most one directory per level is open, and memory is bounded by the
 * depth of the tree times two batches of 32 entries (the one being yielded, the next one read ahead).
 * The lstat of each entry runs through `calls`: inline while lstat is fast, else in the thread pool.
 *
 * One generator for the whole tree, the open directories on a stack: each record is yielded once,
 * not through a chain of `yield*` as deep as the directory (one promise per level per record).
 */
export async function* walk(
  rootAbs: string,
  signal?: AbortSignal,
  calls: InlineCalls = new InlineCalls(),
  /** Directories whose content is not listed (ScanContext.excludedDirectories); their record is yielded. */
  skip?: (path: EntryPath) => boolean,
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
  const stack: Level[] = [];
  try {
    stack.push(enter(dir, '/', rootAbs, calls));
    signal?.throwIfAborted();
    yield recordFromStat('/', rootAbs, 'directory', rootStat, calls);
    while (stack.length > 0) {
      const level = stack[stack.length - 1]!;
      if (level.at === level.entries.length) {
        const entries = level.next ? await level.next : [];
        level.next = undefined;
        if (entries.length === 0) {
          stack.pop();
          await level.dir.close().catch(() => {});
          continue;
        }
        level.entries = entries;
        level.at = 0;
        // The next batch is read (and, when lstat goes to the thread pool, lstat'ed) while the
        // consumer works on this one and on the subdirectories in it.
        level.next = readAhead(level, calls);
        continue;
      }
      const entry = level.entries[level.at++];
      if (!entry) continue;
      signal?.throwIfAborted();
      if (!('stat' in entry)) {
        yield entry;
      } else if (entry.type === 'directory' && skip?.(entry.path) === true) {
        yield recordFromStat(entry.path, entry.absPath, 'directory', entry.stat, calls, {
          nameBytes: entry.nameBytes,
        });
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
        // On the stack before its record is yielded: closed if the consumer stops there.
        stack.push(enter(sub, entry.path, entry.absPath, calls));
        yield recordFromStat(entry.path, entry.absPath, 'directory', entry.stat, calls, {
          nameBytes: entry.nameBytes,
        });
      } else if (entry.type === 'symlink') {
        yield await symlinkRecord(entry, calls);
      } else {
        yield recordFromStat(entry.path, entry.absPath, entry.type, entry.stat, calls, {
          nameBytes: entry.nameBytes,
        });
      }
    }
  } finally {
    // A read ahead still running must end before its directory closes.
    for (let i = stack.length - 1; i >= 0; i--) {
      const level = stack[i]!;
      if (level.next) await level.next.catch(() => {});
      await level.dir.close().catch(() => {});
    }
  }
}

/** The Level of an opened directory, its first batch being read. */
function enter(dir: Dir, path: EntryPath, absPath: NativePath, calls: InlineCalls): Level {
  const level: Level = { dir, path, absPath, entries: [], at: 0, next: undefined };
  level.next = readAhead(level, calls);
  return level;
}

/** Reads and lstats the next batch of `level` (an empty batch at the end). */
function readAhead(level: Level, calls: InlineCalls): Promise<readonly Entry[]> {
  const next = level.dir.readBatch().then((batch) => statBatch(batch, level.path, level.absPath, calls));
  next.catch(() => {}); // awaited by the walk on its turn; not an unhandled rejection meanwhile
  return next;
}

/** The entries of a batch: lstat'ed inline without a promise each, or in the pool. */
function statBatch(
  batch: readonly Dirent<Buffer>[],
  parent: EntryPath,
  parentAbs: NativePath,
  calls: InlineCalls,
): readonly Entry[] | Promise<readonly Entry[]> {
  const out: (Entry | Promise<Entry>)[] = new Array(batch.length);
  let pending = false;
  for (let i = 0; i < batch.length; i++) {
    const entry = statEntry(batch[i]!, parent, parentAbs, calls);
    if (entry instanceof Promise) pending = true;
    out[i] = entry;
  }
  return pending ? Promise.all(out) : (out as Entry[]);
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

const LSTAT_OPTIONS = { bigint: true } as const;

/**
 * lstat of one directory entry: a Stated entry, an error record when lstat fails, or undefined
 * for entries that are not backed up (sockets, fifos, devices); a promise of it when lstat goes
 * to the thread pool. A name that is not UTF-8 becomes its escaped form in the path
 * (nameFromBytes) and is kept as bytes (`nameBytes`).
 */
function statEntry(
  d: Dirent<Buffer>,
  parent: EntryPath,
  parentAbs: NativePath,
  calls: InlineCalls,
): Entry | Promise<Entry> {
  const { name, escaped } = nameFromBytes(d.name);
  if (!isValidComponent(name)) return undefined;
  const nameBytes = escaped ? d.name : undefined;
  const absPath = childPath(parentAbs, nameBytes ?? name);
  const path = joinPath(parent, name);
  if (isLong(absPath)) {
    return withShortPath(absPath, (p) => lstat(p, LSTAT_OPTIONS)).then(
      (st) => stated(path, absPath, nameBytes, st),
      (err: unknown) => lstatFailed(d, path, absPath, nameBytes, err),
    );
  }
  let st: BigIntStats | typeof POOLED;
  try {
    st = calls.runInline(() => lstatSync(absPath, LSTAT_OPTIONS));
  } catch (err) {
    return lstatFailed(d, path, absPath, nameBytes, err);
  }
  if (st !== POOLED) return stated(path, absPath, nameBytes, st);
  return lstat(absPath, LSTAT_OPTIONS).then(
    (st) => stated(path, absPath, nameBytes, st),
    (err: unknown) => lstatFailed(d, path, absPath, nameBytes, err),
  );
}

function stated(
  path: EntryPath,
  absPath: NativePath,
  nameBytes: Uint8Array | undefined,
  stat: BigIntStats,
): Stated | undefined {
  const type = entryTypeOf(stat);
  return type ? { path, absPath, nameBytes, type, stat } : undefined;
}

function lstatFailed(
  d: Dirent<Buffer>,
  path: EntryPath,
  absPath: NativePath,
  nameBytes: Uint8Array | undefined,
  err: unknown,
): SourceRecord {
  const guess: EntryType = d.isDirectory() ? 'directory' : d.isSymbolicLink() ? 'symlink' : 'file';
  const reason = errnoOf(err) === 'ENOENT' ? 'vanished during the scan' : `lstat: ${reasonOf(err)}`;
  return errorRecord(path, absPath, guess, reason, nameBytes);
}
