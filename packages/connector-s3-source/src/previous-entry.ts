/**
 * Reusing the previous snapshot's record of an object (ScanContext.previous): when the listing
 * shows the same ETag, size and LastModified, the object's headers, user metadata and tags are
 * taken from the previous entry instead of asking HeadObject and GetObjectTagging again.
 */
import type { PreviousEntry, Timestamp } from '@kloset/connector-contract';
import { META_KEY, META_STORAGE_CLASS, META_VERSION_ID, unquoteEtag } from '@kloset/s3-common';
import type { ListedObject } from './listing.ts';

/** Milliseconds since the epoch as a Timestamp. */
export function timestamp(ms: number): Timestamp {
  const sec = Math.floor(ms / 1000);
  return { sec, nsec: (ms - sec * 1000) * 1_000_000 };
}

/**
 * The metadata to record for `listed` (full key `key`) when `previous` is the same object: same
 * key, ETag, size and LastModified (to the millisecond, as listed). The storage class comes from
 * the listing (a lifecycle transition changes it alone). With `versionId` (`versions=all`), the
 * previous entry must also be of that version (`s3.version-id`, absent for the null version).
 * Undefined when anything differs.
 */
export function reusableMetadata(
  key: string,
  listed: ListedObject,
  previous: PreviousEntry | undefined,
  versionId?: string,
): Record<string, string> | undefined {
  if (previous === undefined || listed.etag === undefined) return undefined;
  const mtime = timestamp(listed.lastModifiedMs);
  const same =
    previous.type === 'file' &&
    previous.metadata[META_KEY] === key &&
    previous.size === listed.size &&
    previous.changeToken === unquoteEtag(listed.etag) &&
    previous.mtime.sec === mtime.sec &&
    previous.mtime.nsec === mtime.nsec &&
    (versionId === undefined || (previous.metadata[META_VERSION_ID] ?? 'null') === versionId);
  if (!same) return undefined;
  return {
    ...previous.metadata,
    ...(listed.storageClass !== undefined ? { [META_STORAGE_CLASS]: listed.storageClass } : {}),
  };
}
