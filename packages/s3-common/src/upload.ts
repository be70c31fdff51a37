/**
 * Uploading one object from a stream of known size with bounded memory: a single PutObject up to a
 * threshold, a multipart upload above it (parts read one by one, a few in flight, aborted on
 * failure). Either way the object appears whole or not at all.
 */
import {
  AbortMultipartUploadCommand,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectRetentionCommand,
  PutObjectTaggingCommand,
} from '@aws-sdk/client-s3';
import type { Semaphore } from '@kloset/connector-contract';
import { ConnectorError } from '@kloset/connector-contract';
import type { S3Connection } from './client.ts';
import { describeTarget, type S3OpContext, s3Call } from './errors.ts';
import { ExactReader } from './exact-reader.ts';
import { contentMd5 } from './md5.ts';
import { type ObjectHeaders, sdkHeaderParams } from './object-headers.ts';
import { NO_RETRY, type RetryPolicy, withRetry } from './retry.ts';

const MiB = 1024 * 1024;
/** S3 refuses parts under 5 MiB (but the last) and uploads of more than 10,000 parts. */
export const MIN_PART_SIZE = 5 * MiB;
export const MAX_PARTS = 10_000;

/** One object to upload. */
export interface UploadRequest {
  /** The connection to the bucket (its PutObject and UploadPart; the SDK client for the rest). */
  readonly connection: Pick<S3Connection, 'client' | 'putObject' | 'uploadPart'>;
  readonly endpoint: string;
  readonly bucket: string;
  readonly key: string;
  /** Exact size of the body; a body of another length fails the upload. */
  readonly size: number;
  readonly body: AsyncIterable<Uint8Array>;
  readonly headers?: ObjectHeaders;
  /** Create-only: fail with `already_exists` if the key exists (single PutObject only). */
  readonly ifNoneMatch?: boolean;
  /** Bodies up to this size go in one PutObject. */
  readonly multipartThreshold: number;
  /** Size of the parts (raised when needed to stay within 10,000 parts). */
  readonly partSize: number;
  /** Parts uploaded at once for this object. */
  readonly partsInFlight: number;
  /** Byte budget shared by concurrent uploads: each buffer is counted while it lives. */
  readonly memory?: Semaphore;
  /** Retries of each request (the buffered body is sent again). Default: none. */
  readonly retry?: RetryPolicy;
  readonly signal?: AbortSignal;
}

function sizeError(req: UploadRequest, got: number, longer: boolean): ConnectorError {
  return new ConnectorError(
    'invalid',
    `S3 upload of ${describeTarget(req.bucket, req.key)}: body ${longer ? 'longer than' : `ended after ${got} bytes, short of`} its declared size ${req.size}`,
    { op: 'PutObject', container: req.bucket, key: req.key, endpoint: req.endpoint },
  );
}

/** The part size actually used for `size` bytes. */
export function effectivePartSize(size: number, partSize: number): number {
  const needed = Math.ceil(size / MAX_PARTS);
  return Math.max(MIN_PART_SIZE, partSize, Math.ceil(needed / MiB) * MiB);
}

/**
 * Uploads `req.body` (exactly `req.size` bytes) to `req.key`. Errors from S3 are ConnectorErrors;
 * an error thrown by the body itself propagates unchanged (after the multipart upload is aborted).
 */
export async function uploadObject(req: UploadRequest): Promise<void> {
  if (req.size <= req.multipartThreshold) return putSingle(req);
  return putMultipart(req);
}

async function putSingle(req: UploadRequest): Promise<void> {
  const reader = new ExactReader(req.body);
  const units = (await req.memory?.acquire(req.size)) ?? 0;
  try {
    const data = await reader.read(req.size);
    if (data.length < req.size) throw sizeError(req, data.length, false);
    if (!(await reader.atEnd())) throw sizeError(req, data.length, true);
    const ctx: S3OpContext = { op: 'PutObject', bucket: req.bucket, key: req.key, endpoint: req.endpoint };
    const md5 = contentMd5(data);
    await withRetry(
      () =>
        s3Call(
          ctx,
          () =>
            req.connection.putObject({
              key: req.key,
              body: data,
              md5,
              ...(req.headers !== undefined ? { headers: req.headers } : {}),
              ...(req.ifNoneMatch ? { ifNoneMatch: true } : {}),
              signal: req.signal,
            }),
          req.signal,
        ),
      req.retry ?? NO_RETRY,
      req.signal,
    );
  } finally {
    req.memory?.release(units);
    await reader.close();
  }
}

async function putMultipart(req: UploadRequest): Promise<void> {
  const { bucket, key, endpoint, signal } = req;
  const { client } = req.connection;
  const retry = req.retry ?? NO_RETRY;
  const ctx = (op: string): S3OpContext => ({ op, bucket, key, endpoint });
  const created = await withRetry(
    () =>
      s3Call(
        ctx('CreateMultipartUpload'),
        () =>
          client.send(
            new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ...sdkHeaderParams(req.headers) }),
            {
              abortSignal: signal,
            },
          ),
        signal,
      ),
    retry,
    signal,
  );
  const uploadId = created.UploadId;
  if (!uploadId) {
    throw new ConnectorError(
      'transient',
      `S3 CreateMultipartUpload on ${describeTarget(bucket, key)}: no upload id in the answer`,
      {
        op: 'CreateMultipartUpload',
        container: bucket,
        key,
        endpoint,
      },
    );
  }
  const partSize = effectivePartSize(req.size, req.partSize);
  const reader = new ExactReader(req.body);
  const parts: CompletedPart[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: { err: unknown } | undefined;

  const uploadPart = async (partNumber: number, data: Uint8Array, units: number): Promise<void> => {
    try {
      const md5 = contentMd5(data);
      const etag = await withRetry(
        () =>
          s3Call(
            ctx(`UploadPart ${partNumber}`),
            () => req.connection.uploadPart({ key, uploadId, partNumber, body: data, md5, signal }),
            signal,
          ),
        retry,
        signal,
      );
      parts.push({ PartNumber: partNumber, ETag: etag });
    } catch (err) {
      failure ??= { err };
    } finally {
      req.memory?.release(units);
    }
  };

  try {
    let sent = 0;
    for (let partNumber = 1; sent < req.size && !failure; partNumber++) {
      while (inFlight.size >= Math.max(1, req.partsInFlight)) await Promise.race(inFlight);
      if (failure) break;
      const n = Math.min(partSize, req.size - sent);
      const units = (await req.memory?.acquire(n)) ?? 0;
      let data: Uint8Array;
      try {
        data = await reader.read(n);
      } catch (err) {
        req.memory?.release(units);
        throw err;
      }
      if (data.length < n) {
        req.memory?.release(units);
        throw sizeError(req, sent + data.length, false);
      }
      sent += n;
      const p = uploadPart(partNumber, data, units).finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    await Promise.all(inFlight);
    if (failure) throw failure.err;
    if (!(await reader.atEnd())) throw sizeError(req, sent, true);
    parts.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
    const completed = await withRetry(
      () =>
        s3Call(
          ctx('CompleteMultipartUpload'),
          () =>
            client.send(
              new CompleteMultipartUploadCommand({
                Bucket: bucket,
                Key: key,
                UploadId: uploadId,
                MultipartUpload: { Parts: parts },
              }),
              { abortSignal: signal },
            ),
          signal,
        ),
      retry,
      signal,
    );
    // Some servers (Ceph RGW 16) ignore x-amz-tagging on CreateMultipartUpload: set the tags again.
    const tagSet = Object.entries(req.headers?.tags ?? {}).map(([Key, Value]) => ({ Key, Value }));
    if (tagSet.length > 0) {
      await withRetry(
        () =>
          s3Call(
            ctx('PutObjectTagging'),
            () =>
              client.send(
                new PutObjectTaggingCommand({ Bucket: bucket, Key: key, Tagging: { TagSet: tagSet } }),
                {
                  abortSignal: signal,
                },
              ),
            signal,
          ),
        retry,
        signal,
      );
    }
    // Nor do they apply an Object Lock retention given there: set it on the version completed.
    const retention = req.headers?.retention;
    if (retention !== undefined) {
      const versionId = completed.VersionId;
      await withRetry(
        () =>
          s3Call(
            ctx('PutObjectRetention'),
            () =>
              client.send(
                new PutObjectRetentionCommand({
                  Bucket: bucket,
                  Key: key,
                  ...(versionId ? { VersionId: versionId } : {}),
                  Retention: { Mode: retention.mode, RetainUntilDate: retention.retainUntil },
                }),
                { abortSignal: signal },
              ),
            signal,
          ),
        retry,
        signal,
      );
    }
  } catch (err) {
    await Promise.allSettled(inFlight);
    await abortUpload(req, uploadId);
    throw err;
  } finally {
    await reader.close().catch(() => {});
  }
}

/** Best effort: a failed abort leaves an incomplete upload that lifecycle rules clean up. */
async function abortUpload(req: UploadRequest, uploadId: string): Promise<void> {
  try {
    await withRetry(
      () =>
        s3Call({ op: 'AbortMultipartUpload', bucket: req.bucket, key: req.key, endpoint: req.endpoint }, () =>
          req.connection.client.send(
            new AbortMultipartUploadCommand({ Bucket: req.bucket, Key: req.key, UploadId: uploadId }),
          ),
        ),
      { attempts: 3, baseDelayMs: 200, maxDelayMs: 1000 },
    );
  } catch {
    // The original error matters more; the upload id is lost with it.
  }
}
