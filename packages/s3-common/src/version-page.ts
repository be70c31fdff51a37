/**
 * One ListObjectVersions answer as one list: every version and delete marker of the page in
 * listing order (keys in UTF-8 binary order, each key's versions newest first), keys decoded.
 * Shared by the S3 source (versions=all) and the S3 storage (reading a store as of a time).
 */
import type { DeleteMarkerEntry, ListObjectVersionsCommandOutput, ObjectVersion } from '@aws-sdk/client-s3';
import { listingKeyDecoder } from './listing-keys.ts';

/** One version (or delete marker) as listed. */
export interface ListedVersion {
  /** The exact key (decoded from the URL encoding used on the wire). */
  readonly key: string;
  /** `null` for the null version (an unversioned object, or one written before versioning). */
  readonly versionId: string;
  readonly isLatest: boolean;
  readonly deleteMarker: boolean;
  readonly lastModifiedMs: number;
  /** 0 for a delete marker. */
  readonly size: number;
  readonly etag?: string;
  readonly storageClass?: string;
}

/** A page's versions and delete markers in one list, in listing order, keys decoded. */
export function pageVersions(page: ListObjectVersionsCommandOutput): ListedVersion[] {
  const decode = listingKeyDecoder(page.EncodingType);
  const fromVersion = (v: ObjectVersion): ListedVersion => ({
    key: decode(v.Key ?? ''),
    versionId: v.VersionId ?? 'null',
    isLatest: v.IsLatest === true,
    deleteMarker: false,
    lastModifiedMs: v.LastModified?.getTime() ?? 0,
    size: v.Size ?? 0,
    ...(v.ETag !== undefined ? { etag: v.ETag } : {}),
    ...(v.StorageClass !== undefined ? { storageClass: v.StorageClass } : {}),
  });
  const fromMarker = (d: DeleteMarkerEntry): ListedVersion => ({
    key: decode(d.Key ?? ''),
    versionId: d.VersionId ?? 'null',
    isLatest: d.IsLatest === true,
    deleteMarker: true,
    lastModifiedMs: d.LastModified?.getTime() ?? 0,
    size: 0,
  });
  // The SDK splits the answer's interleaved <Version> and <DeleteMarker> elements into two lists,
  // each in listing order: merge them back by key (UTF-8 binary order), then newest first (the
  // latest first on equal times).
  const versions = (page.Versions ?? []).map(fromVersion);
  const markers = (page.DeleteMarkers ?? []).map(fromMarker);
  const out: ListedVersion[] = [];
  let i = 0;
  let j = 0;
  while (i < versions.length || j < markers.length) {
    const v = versions[i];
    const d = markers[j];
    if (d === undefined || (v !== undefined && listedBefore(v, d))) {
      out.push(v!);
      i++;
    } else {
      out.push(d);
      j++;
    }
  }
  return out;
}

/** True when `a` comes before `b` in a ListObjectVersions answer. */
function listedBefore(a: ListedVersion, b: ListedVersion): boolean {
  const byKey = Buffer.compare(Buffer.from(a.key, 'utf8'), Buffer.from(b.key, 'utf8'));
  if (byKey !== 0) return byKey < 0;
  if (a.isLatest !== b.isLatest) return a.isLatest;
  return a.lastModifiedMs >= b.lastModifiedMs;
}
