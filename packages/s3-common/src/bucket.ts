/** Creating the bucket a connector writes to, when it is missing. */
import { type BucketLocationConstraint, CreateBucketCommand } from '@aws-sdk/client-s3';
import type { S3Connection } from './client.ts';
import { s3Call, s3ErrorCode } from './errors.ts';
import { NO_RETRY, type RetryPolicy, withRetry } from './retry.ts';

/** How a bucket is made. */
export interface CreateBucketOptions {
  /** With Object Lock enabled (x-amz-bucket-object-lock-enabled, which also enables versioning). */
  readonly objectLock?: boolean;
}

/**
 * Creates `bucket` in the connection's region (a LocationConstraint outside us-east-1), retrying
 * per `retry` (default: one attempt). A bucket already ours is fine (another writer made it
 * meanwhile: the caller checks what it needs of it); BucketAlreadyExists (owned by someone else)
 * is not.
 */
export async function createBucket(
  conn: S3Connection,
  bucket: string,
  retry: RetryPolicy = NO_RETRY,
  options: CreateBucketOptions = {},
): Promise<void> {
  const region = conn.settings.region;
  const command = new CreateBucketCommand({
    Bucket: bucket,
    ...(options.objectLock === true ? { ObjectLockEnabledForBucket: true } : {}),
    ...(region !== 'us-east-1'
      ? { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } }
      : {}),
  });
  const ctx = { op: 'CreateBucket', bucket, endpoint: conn.settings.location.endpoint };
  try {
    await withRetry(() => s3Call(ctx, () => conn.client.send(command)), retry);
  } catch (err) {
    if (s3ErrorCode(err) !== 'BucketAlreadyOwnedByYou') throw err;
  }
}
