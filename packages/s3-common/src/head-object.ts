/** HeadObject of a key that may not exist: what is there, or undefined. */
import { HeadObjectCommand, type HeadObjectCommandOutput } from '@aws-sdk/client-s3';
import { isConnectorError } from '@kloset/connector-contract';
import type { S3Connection } from './client.ts';
import { s3Call } from './errors.ts';
import { type RetryPolicy, withRetry } from './retry.ts';

/**
 * HeadObject of `key` (retried on transient errors): its answer, or undefined when the key (or
 * the bucket) does not exist. Other failures reject with a ConnectorError naming bucket and key.
 */
export async function headObjectIfExists(
  conn: Pick<S3Connection, 'client' | 'settings'>,
  key: string,
  retry: RetryPolicy,
  signal?: AbortSignal,
): Promise<HeadObjectCommandOutput | undefined> {
  const { bucket, endpoint } = conn.settings.location;
  try {
    return await withRetry(
      () =>
        s3Call(
          { op: 'HeadObject', bucket, key, endpoint },
          () =>
            conn.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal }),
          signal,
        ),
      retry,
      signal,
    );
  } catch (err) {
    if (isConnectorError(err, 'not_found')) return undefined;
    throw err;
  }
}
