/** Builds SourceRecords from lstat results for FsSource. */
import type { BigIntStats } from 'node:fs';
import type { EntryPath, EntryType, SourceRecord } from '@kloset/connector-contract';
import { ConnectorError } from '@kloset/connector-contract';
import { timestampFromNs } from '../time.ts';
import { readFileContent } from './file-content.ts';

/** The EntryType of a stat result, or undefined for sockets, fifos and devices (not backed up). */
export function entryTypeOf(stat: BigIntStats): EntryType | undefined {
  if (stat.isFile()) return 'file';
  if (stat.isDirectory()) return 'directory';
  if (stat.isSymbolicLink()) return 'symlink';
  return undefined;
}

/**
 * The record of an entry: mode (0o7777 mask), mtime to the nanosecond, uid/gid, size of files,
 * and a change token made of the ctime (ns), the inode and the size. `error` marks an entry that
 * could not be read fully (its record still carries what lstat said).
 */
export function recordFromStat(
  path: EntryPath,
  absPath: string,
  type: EntryType,
  stat: BigIntStats,
  extra: { linkTarget?: string; error?: string } = {},
): SourceRecord {
  const size = type === 'file' ? Number(stat.size) : 0;
  const mtimeNs = stat.mtimeNs;
  return {
    path,
    type,
    size,
    mtime: timestampFromNs(mtimeNs),
    mode: Number(stat.mode & 0o7777n),
    uid: Number(stat.uid),
    gid: Number(stat.gid),
    metadata: {},
    changeToken: `${stat.ctimeNs}-${stat.ino}-${stat.size}`,
    ...(extra.linkTarget === undefined ? {} : { linkTarget: extra.linkTarget }),
    ...(extra.error === undefined ? {} : { error: extra.error }),
    open: async () => {
      if (type !== 'file') {
        throw new ConnectorError('invalid', `open() of ${type} ${absPath}: only files have content`, {
          op: 'open',
          key: absPath,
        });
      }
      return readFileContent(absPath, size, mtimeNs);
    },
  };
}

/** A record for an entry that could not even be stat'ed (it vanished, or access was refused). */
export function errorRecord(path: EntryPath, absPath: string, type: EntryType, error: string): SourceRecord {
  return {
    path,
    type,
    size: 0,
    mtime: { sec: 0, nsec: 0 },
    metadata: {},
    error,
    open: async () => {
      throw new ConnectorError('invalid', `open() of ${absPath}, which could not be read: ${error}`, {
        op: 'open',
        key: absPath,
      });
    },
  };
}
