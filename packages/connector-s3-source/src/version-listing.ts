/**
 * ListObjectVersions pages, streamed (key-marker / version-id-marker), the next page requested
 * while the current one is used: every version and delete marker under a prefix, keys in S3 order
 * and each key's versions newest first, as S3 lists them. Memory holds one page (1,000 versions at
 * most) plus the page being fetched, never a key's versions.
 */
import { ListObjectVersionsCommand, type ListObjectVersionsCommandOutput } from '@aws-sdk/client-s3';
import {
  type ListedVersion,
  listingKeyDecoder,
  pageVersions,
  type RetryPolicy,
  type S3Connection,
  s3Call,
  withRetry,
} from '@kloset/s3-common';
import { prefetchedPages } from './prefetched-pages.ts';

export type { ListedVersion };

interface Marker {
  readonly key: string;
  readonly versionId: string | undefined;
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
