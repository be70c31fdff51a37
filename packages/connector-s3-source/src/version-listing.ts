/**
 * ListObjectVersions pages, streamed (key-marker / version-id-marker), the next page requested
 * while the current one is used: every version and delete marker under a prefix, keys in S3 order
 * and each key's versions newest first, as S3 lists them. Memory holds one page (1,000 versions at
 * most) plus the page being fetched, never a key's versions.
 */
import {
  type DeleteMarkerEntry,
  ListObjectVersionsCommand,
  type ListObjectVersionsCommandOutput,
  type ObjectVersion,
} from '@aws-sdk/client-s3';
import { listingKeyDecoder, type RetryPolicy, type S3Connection, s3Call, withRetry } from '@kloset/s3-common';
import { prefetchedPages } from './prefetched-pages.ts';

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

interface Marker {
  readonly key: string;
  readonly versionId: string | undefined;
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

/** Every version and delete marker under `prefix`, page by page. */
export async function* listObjectVersions(
  conn: S3Connection,
  prefix: string,
  retry: RetryPolicy,
  signal?: AbortSignal,
): AsyncGenerator<ListedVersion> {
  const { bucket, endpoint } = conn.settings.location;
  const fetchPage = (marker: Marker | undefined): Promise<ListObjectVersionsCommandOutput> =>
    withRetry(
      () =>
        s3Call(
          { op: 'ListObjectVersions', bucket, endpoint, ...(prefix ? { key: prefix } : {}) },
          () =>
            conn.client.send(
              new ListObjectVersionsCommand({
                Bucket: bucket,
                EncodingType: 'url',
                ...(prefix ? { Prefix: prefix } : {}),
                ...(marker !== undefined ? { KeyMarker: marker.key } : {}),
                ...(marker?.versionId !== undefined ? { VersionIdMarker: marker.versionId } : {}),
              }),
              { abortSignal: signal },
            ),
          signal,
        ),
      retry,
      signal,
    );
  const nextOf = (page: ListObjectVersionsCommandOutput): Marker | undefined => {
    if (page.IsTruncated !== true || page.NextKeyMarker === undefined) return undefined;
    const decode = listingKeyDecoder(page.EncodingType);
    return { key: decode(page.NextKeyMarker), versionId: page.NextVersionIdMarker };
  };
  for await (const page of prefetchedPages(fetchPage, nextOf)) yield* pageVersions(page);
}
