/** Builds SourceRecords from lstat results for FsSource. */
import type { BigIntStats } from 'node:fs';
import type { EntryPath, EntryType, SourceRecord } from '@kloset/connector-contract';
import { ConnectorError } from '@kloset/connector-contract';
import type { InlineCalls } from '../inline-calls.ts';
import { type NativePath, shownPath } from '../native-path.ts';
import { timestampFromNs } from '../time.ts';
import { fileContent, type Prefetched, prefetchedContent } from './file-content.ts';

/** The EntryType of a stat result, or undefined for sockets, fifos and devices (not backed up). */
export function entryTypeOf(stat: BigIntStats): EntryType | undefined {
  if (stat.isFile()) return 'file';
  if (stat.isDirectory()) return 'directory';
  if (stat.isSymbolicLink()) return 'symlink';
  return undefined;
}

/** What a record may carry besides the lstat result. */
export interface RecordExtra {
  readonly linkTarget?: string;
  readonly linkTargetBytes?: Uint8Array | undefined;
  readonly nameBytes?: Uint8Array | undefined;
  readonly error?: string;
}

/**
 * The record of an entry: mode (0o7777 mask), mtime to the nanosecond, uid/gid, size of files,
 * and a change token made of the ctime (ns), the inode and the size. `error` marks an entry that
 * could not be read fully (its record still carries what lstat said). `calls` reads small files
 * (fileContent).
 */
export function recordFromStat(
  path: EntryPath,
  absPath: NativePath,
  type: EntryType,
  stat: BigIntStats,
  calls: InlineCalls,
  extra: RecordExtra = {},
): SourceRecord {
  return recordOf(
    path,
    absPath,
    type,
    {
      size: stat.size,
      mtimeNs: stat.mtimeNs,
      ctimeNs: stat.ctimeNs,
      ino: stat.ino,
      mode: Number(stat.mode & 0o7777n),
      uid: Number(stat.uid),
      gid: Number(stat.gid),
    },
    calls,
    extra,
  );
}

/** What a record takes from lstat: the permission bits of the mode (mode & 0o7777). */
export interface StatFields {
  readonly size: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
  readonly ino: bigint;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

/**
 * recordFromStat from the fields of an lstat result. With `prefetched` (a file whose content was
 * read right after its lstat), the first `open()` yields those bytes, then throws their error if
 * any; a second `open()` reads the file as it is then, as without it.
 */
export function recordOf(
  path: EntryPath,
  absPath: NativePath,
  type: EntryType,
  st: StatFields,
  calls: InlineCalls,
  extra: RecordExtra = {},
  prefetched?: Prefetched,
): SourceRecord {
  const size = type === 'file' ? Number(st.size) : 0;
  const mtimeNs = st.mtimeNs;
  let opened = false;
  let early = prefetched;
  return {
    path,
    type,
    size,
    mtime: timestampFromNs(mtimeNs),
    mode: st.mode,
    uid: st.uid,
    gid: st.gid,
    metadata: {},
    changeToken: `${st.ctimeNs}-${st.ino}-${st.size}`,
    ...(extra.nameBytes === undefined ? {} : { nameBytes: extra.nameBytes }),
    ...(extra.linkTarget === undefined ? {} : { linkTarget: extra.linkTarget }),
    ...(extra.linkTargetBytes === undefined ? {} : { linkTargetBytes: extra.linkTargetBytes }),
    ...(extra.error === undefined ? {} : { error: extra.error }),
    open: async () => {
      if (type !== 'file') {
        const shown = shownPath(absPath);
        throw new ConnectorError('invalid', `open() of ${type} ${shown}: only files have content`, {
          op: 'open',
          key: shown,
        });
      }
      if (early !== undefined) {
        const content = early;
        early = undefined;
        opened = true;
        content.taken(content.bytes.length);
        return prefetchedContent(content.bytes, content.error);
      }
      // Opened again after the first read found the file changing: read it as it is now.
      const scanned = opened ? undefined : { size, mtimeNs };
      opened = true;
      return fileContent(absPath, scanned, calls);
    },
  };
}

/** A record for an entry that could not even be stat'ed (it vanished, or access was refused). */
export function errorRecord(
  path: EntryPath,
  absPath: NativePath,
  type: EntryType,
  error: string,
  nameBytes?: Uint8Array,
): SourceRecord {
  return {
    path,
    type,
    size: 0,
    mtime: { sec: 0, nsec: 0 },
    metadata: {},
    ...(nameBytes === undefined ? {} : { nameBytes }),
    error,
    open: async () => {
      const shown = shownPath(absPath);
      throw new ConnectorError('invalid', `open() of ${shown}, which could not be read: ${error}`, {
        op: 'open',
        key: shown,
      });
    },
  };
}
