/** The records of `versions=all` that need no request: delete markers, directories, listed metadata. */
import type { EntryMetadata, SharedContent, SourceRecord } from '@kloset/connector-contract';
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

/**
 * The pair of records of a key's latest version (its file in the plain tree and its entry in the
 * versions tree): one content, read once (SourceRecord.sharedContent). The version's metadata is
 * the plain file's with what the listing says of the version; the plain file's is the version's
 * without it (and without the id of a null version, which a plain entry does not record).
 */
export function latestVersionPair(
  key: string,
  versionId: string,
  listed: Readonly<Record<string, string>>,
): { readonly plain: SharedContent; readonly version: SharedContent } {
  const shareKey = `${key}\u0000${versionId}`;
  return {
    version: { key: shareKey, metadata: (plain) => ({ ...plain, ...listed }) },
    plain: {
      key: shareKey,
      metadata: (version) => {
        const out: Record<string, string> = {};
        for (const [k, v] of Object.entries(version)) {
          if (k === META_IS_LATEST || k === META_LAST_MODIFIED || k === META_DELETE_MARKER) continue;
          if (k === META_VERSION_ID && v === 'null') continue;
          out[k] = v;
        }
        return out as EntryMetadata;
      },
    },
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
