/** ListObjectsV2 pages, streamed, with the next page requested while the current one is used. */
import {
  type ListPage,
  listingKeyDecoder,
  type RetryPolicy,
  type S3Connection,
  s3Call,
  withRetry,
} from '@kloset/s3-common';
import { prefetchedPages } from './prefetched-pages.ts';

/** One object as listed. */
export interface ListedObject {
  /** The exact key (decoded from the URL encoding used on the wire). */
  readonly key: string;
  readonly size: number;
  readonly lastModifiedMs: number;
  readonly etag?: string;
  readonly storageClass?: string;
}

/**
 * Every object under `prefix`, page by page (1,000 keys at most in memory, plus the page being
 * fetched). Keys travel URL-encoded (`EncodingType=url`) so that control characters survive XML.
 */
export async function* listObjects(
  conn: S3Connection,
  prefix: string,
  retry: RetryPolicy,
  signal?: AbortSignal,
): AsyncGenerator<ListedObject> {
  const { bucket, endpoint } = conn.settings.location;
  const fetchPage = (token: string | undefined): Promise<ListPage> =>
    withRetry(
      () =>
        s3Call(
          { op: 'ListObjectsV2', bucket, endpoint, ...(prefix ? { key: prefix } : {}) },
          () => conn.listObjects({ prefix, ...(token ? { continuationToken: token } : {}) }),
          signal,
        ),
      retry,
      signal,
    );
  const nextOf = (page: ListPage): string | undefined =>
    page.IsTruncated ? page.NextContinuationToken || undefined : undefined;
  for await (const page of prefetchedPages(fetchPage, nextOf)) {
    const decode = listingKeyDecoder(page.EncodingType);
    for (const o of page.Contents) {
      yield {
        key: decode(o.Key),
        size: o.Size ?? 0,
        lastModifiedMs: o.LastModified?.getTime() ?? 0,
        ...(o.ETag !== undefined ? { etag: o.ETag } : {}),
        ...(o.StorageClass !== undefined ? { storageClass: o.StorageClass } : {}),
      };
    }
  }
}
