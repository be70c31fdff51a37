/** The directory walk of FsSource: depth first, streaming, one open directory per level. */
import { type BigIntStats, type Dir, type Dirent, lstatSync } from 'node:fs';
import { lstat, opendir, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ConnectorError,
  type EntryPath,
  type EntryType,
  isValidComponent,
  joinPath,
  type SourceRecord,
} from '@kloset/connector-contract';
import { errnoOf, fsError, reasonOf } from '../fs-errors.ts';
import { InlineCalls } from '../inline-calls.ts';
import { entryTypeOf, errorRecord, recordFromStat } from './entry-record.ts';

/** How many entries of one directory are read and lstat'ed at once. */
const BATCH = 32;

/** An entry of a directory, stat'ed. */
interface Stated {
  readonly path: EntryPath;
  readonly absPath: string;
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
    dir = await opendir(rootAbs, { bufferSize: BATCH });
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') {
      throw new ConnectorError('not_found', `source directory ${rootAbs} does not exist`, {
        op: 'scan',
        key: rootAbs,
      });
    }
    throw fsError(err, 'scan', rootAbs);
  }
  yield* yieldThenWalk(recordFromStat('/', rootAbs, 'directory', rootStat), dir, rootAbs, calls, signal);
}

/** Yields the record of a directory, then walks it; closes `dir` even if the walk never starts. */
async function* yieldThenWalk(
  record: SourceRecord,
  dir: Dir,
  absPath: string,
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
  absPath: string,
  calls: InlineCalls,
  signal?: AbortSignal,
): AsyncGenerator<SourceRecord> {
  const lossyNames = new Set<string>();
  const nextBatch = async () => {
    const batch = await readBatch(dir, absPath);
    return Promise.all(batch.map((d) => statEntry(d, path, absPath, lossyNames, calls)));
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
            sub = await opendir(entry.absPath, { bufferSize: BATCH });
          } catch (err) {
            yield recordFromStat(entry.path, entry.absPath, 'directory', entry.stat, {
              error: `opendir: ${reasonOf(err)}`,
            });
            continue;
          }
          yield* yieldThenWalk(
            recordFromStat(entry.path, entry.absPath, 'directory', entry.stat),
            sub,
            entry.absPath,
            calls,
            signal,
          );
        } else if (entry.type === 'symlink') {
          yield await symlinkRecord(entry);
        } else {
          yield recordFromStat(entry.path, entry.absPath, entry.type, entry.stat);
        }
      }
    }
  } finally {
    // A prefetch still running must end before its directory closes.
    if (next) await next.catch(() => {});
    await dir.close().catch(() => {});
  }
}

async function readBatch(dir: Dir, absPath: string): Promise<Dirent[]> {
  const batch: Dirent[] = [];
  try {
    while (batch.length < BATCH) {
      const d = await dir.read();
      if (!d) break;
      batch.push(d);
    }
  } catch (err) {
    throw fsError(err, 'readdir', absPath);
  }
  return batch;
}

async function symlinkRecord(entry: Stated): Promise<SourceRecord> {
  try {
    const linkTarget = await readlink(entry.absPath);
    return recordFromStat(entry.path, entry.absPath, 'symlink', entry.stat, { linkTarget });
  } catch (err) {
    return recordFromStat(entry.path, entry.absPath, 'symlink', entry.stat, {
      error: `readlink: ${reasonOf(err)}`,
    });
  }
}

/**
 * lstat of one directory entry: a Stated entry, an error record when lstat fails, or undefined
 * for entries that are not backed up (sockets, fifos, devices; repeated undecodable names).
 */
async function statEntry(
  d: Dirent,
  parent: EntryPath,
  parentAbs: string,
  lossyNames: Set<string>,
  calls: InlineCalls,
): Promise<Stated | SourceRecord | undefined> {
  if (!isValidComponent(d.name)) return undefined;
  const absPath = join(parentAbs, d.name);
  const path = joinPath(parent, d.name);
  const guess: EntryType = d.isDirectory() ? 'directory' : d.isSymbolicLink() ? 'symlink' : 'file';
  try {
    const st = await calls.run(
      () => lstatSync(absPath, { bigint: true }),
      () => lstat(absPath, { bigint: true }),
    );
    const type = entryTypeOf(st);
    return type ? { path, absPath, type, stat: st } : undefined;
  } catch (err) {
    // A name that is not UTF-8 is decoded with U+FFFD and then names no file.
    if (errnoOf(err) === 'ENOENT' && d.name.includes('\uFFFD')) {
      if (lossyNames.has(d.name)) return undefined;
      lossyNames.add(d.name);
      return errorRecord(path, absPath, guess, 'the file name is not valid UTF-8: not backed up');
    }
    const reason = errnoOf(err) === 'ENOENT' ? 'vanished during the scan' : `lstat: ${reasonOf(err)}`;
    return errorRecord(path, absPath, guess, reason);
  }
}
