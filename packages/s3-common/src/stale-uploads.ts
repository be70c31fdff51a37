/**
 * Incomplete multipart uploads left behind by interrupted writers (a killed process never sends
 * its AbortMultipartUpload): listed under a prefix, and aborted once initiated long enough ago.
 * Their parts are invisible to listings and GETs but stored, and billed, until aborted.
 */
import {
  AbortMultipartUploadCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
} from '@aws-sdk/client-s3';
import type { S3Connection } from './client.ts';
import { type S3OpContext, s3Call, s3ErrorCode } from './errors.ts';
import { NO_RETRY, type RetryPolicy, withRetry } from './retry.ts';

/** Which incomplete uploads to abort. */
export interface StaleUploadsRequest {
  readonly connection: Pick<S3Connection, 'client'>;
  readonly endpoint: string;
  readonly bucket: string;
  /** Only uploads to keys starting with this ('': the whole bucket). */
  readonly prefix: string;
  /**
   * Only uploads initiated at least this long ago (ms): the server's `Initiated` time against the
   * local clock, so a clock skew shortens or lengthens it by as much. This age is what keeps the
   * uploads of live writers safe: it must be longer than any upload takes.
   */
  readonly olderThanMs: number;
  /** Only keys for which this is true (default: every key under the prefix). */
  readonly keyFilter?: (key: string) => boolean;
  /** Retries of each request. Default: none. */
  readonly retry?: RetryPolicy;
  readonly signal?: AbortSignal;
  /** Clock (Unix ms), default Date.now. */
  readonly now?: () => number;
  /** Uploads per listing page (MaxUploads); default: the server's (1,000). */
  readonly pageSize?: number;
}

/** What `abortStaleUploads` aborted: uploads, and the bytes of their uploaded parts. */
export interface StaleUploadsAborted {
  readonly count: number;
  readonly bytes: number;
}

/**
 * Lists the incomplete multipart uploads under `req.prefix` (ListMultipartUploads, every page) and
 * aborts those initiated at least `req.olderThanMs` ago, after summing their parts' sizes
 * (ListParts). An upload completed or aborted by someone else meanwhile (NoSuchUpload) is skipped
 * and not counted. Other errors are ConnectorErrors naming the operation, bucket and key.
 */
export async function abortStaleUploads(req: StaleUploadsRequest): Promise<StaleUploadsAborted> {
  const { client } = req.connection;
  const { bucket, endpoint, signal } = req;
  const retry = req.retry ?? NO_RETRY;
  const cutoff = (req.now ?? Date.now)() - req.olderThanMs;
  const call = <T>(op: string, key: string | undefined, fn: () => Promise<T>): Promise<T> => {
    const ctx: S3OpContext = { op, bucket, endpoint, ...(key !== undefined ? { key } : {}) };
    return withRetry(() => s3Call(ctx, fn, signal), retry, signal);
  };
  const aborted = { count: 0, bytes: 0 };
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  for (;;) {
    const page = await call('ListMultipartUploads', req.prefix || undefined, () =>
      client.send(
        new ListMultipartUploadsCommand({
          Bucket: bucket,
          ...(req.prefix ? { Prefix: req.prefix } : {}),
          // Not EncodingType=url: Ceph RGW encodes the keys but does not say so in its answer.
          ...(req.pageSize !== undefined ? { MaxUploads: req.pageSize } : {}),
          ...(keyMarker !== undefined ? { KeyMarker: keyMarker } : {}),
          ...(uploadIdMarker !== undefined ? { UploadIdMarker: uploadIdMarker } : {}),
        }),
        { abortSignal: signal },
      ),
    );
    for (const upload of page.Uploads ?? []) {
      if (upload.Key === undefined || upload.UploadId === undefined) continue;
      const key = upload.Key;
      const initiated = upload.Initiated?.getTime();
      // Without a time, its age is unknown: kept.
      if (initiated === undefined || Number.isNaN(initiated) || initiated > cutoff) continue;
      if (!key.startsWith(req.prefix) || (req.keyFilter !== undefined && !req.keyFilter(key))) continue;
      const bytes = await partBytes(call, client, bucket, key, upload.UploadId, signal);
      if (bytes === undefined) continue;
      try {
        await call('AbortMultipartUpload', key, () =>
          client.send(
            new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: upload.UploadId }),
            {
              abortSignal: signal,
            },
          ),
        );
      } catch (err) {
        if (s3ErrorCode(err) === 'NoSuchUpload') continue;
        throw err;
      }
      aborted.count++;
      aborted.bytes += bytes;
    }
    if (!page.IsTruncated) break;
    const nextKey = page.NextKeyMarker;
    // A truncated page without a way on (or the same one again) would loop forever.
    if (nextKey === undefined || (nextKey === keyMarker && page.NextUploadIdMarker === uploadIdMarker)) break;
    keyMarker = nextKey;
    uploadIdMarker = page.NextUploadIdMarker;
  }
  return aborted;
}

/** The bytes of an upload's parts, or undefined when the upload is gone (NoSuchUpload). */
async function partBytes(
  call: <T>(op: string, key: string | undefined, fn: () => Promise<T>) => Promise<T>,
  client: S3Connection['client'],
  bucket: string,
  key: string,
  uploadId: string,
  signal: AbortSignal | undefined,
): Promise<number | undefined> {
  let bytes = 0;
  let marker: string | undefined;
  try {
    for (;;) {
      const page = await call('ListParts', key, () =>
        client.send(
          new ListPartsCommand({
            Bucket: bucket,
            Key: key,
            UploadId: uploadId,
            ...(marker !== undefined ? { PartNumberMarker: marker } : {}),
          }),
          { abortSignal: signal },
        ),
      );
      for (const part of page.Parts ?? []) bytes += part.Size ?? 0;
      if (
        !page.IsTruncated ||
        page.NextPartNumberMarker === undefined ||
        page.NextPartNumberMarker === marker
      )
        return bytes;
      marker = page.NextPartNumberMarker;
    }
  } catch (err) {
    if (s3ErrorCode(err) === 'NoSuchUpload') return undefined;
    throw err;
  }
}
