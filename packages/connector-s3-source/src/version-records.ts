/** The records of `versions=all` that need no request: delete markers, directories, listed metadata. */
import type { SourceRecord } from '@kloset/connector-contract';
import {
  META_DELETE_MARKER,
  META_IS_LATEST,
  META_KEY,
  META_LAST_MODIFIED,
  META_VERSION_ID,
} from '@kloset/s3-common';
import { timestamp } from './previous-entry.ts';
import type { ListedVersion } from './version-listing.ts';
import type { FilterAs, VersionDirEvent } from './version-tree.ts';

/** What the listing says of a version: its id, whether it is the latest, its LastModified, a delete marker. */
export function versionMetadata(v: ListedVersion): Record<string, string> {
  return {
    [META_VERSION_ID]: v.versionId,
    [META_IS_LATEST]: String(v.isLatest),
    [META_LAST_MODIFIED]: new Date(v.lastModifiedMs).toISOString(),
    ...(v.deleteMarker ? { [META_DELETE_MARKER]: 'true' } : {}),
  };
}

async function* nothing(): AsyncGenerator<Uint8Array> {}

/** A delete marker: a file of size 0 without content, its metadata all from the listing. */
export function deleteMarkerRecord(
  path: string,
  filterAs: FilterAs,
  key: string,
  lastModifiedMs: number,
  listed: Record<string, string>,
): SourceRecord {
  return {
    path,
    filterAs,
    type: 'file',
    size: 0,
    mtime: timestamp(lastModifiedMs),
    metadata: { [META_KEY]: key, ...listed },
    open: async () => nothing(),
  };
}

/** A directory of the versions tree. */
export function versionDirectory(d: VersionDirEvent): SourceRecord {
  return {
    path: d.path,
    type: 'directory',
    filterAs: d.filterAs,
    size: 0,
    mtime: timestamp(d.mtimeMs),
    metadata: {},
    open: () => Promise.reject(new Error('S3 source: only files have content to open')),
  };
}
