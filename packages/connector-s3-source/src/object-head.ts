/** HeadObject and GetObjectTagging of one object, with retries. */
import {
  GetObjectTaggingCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  type Tag,
} from '@aws-sdk/client-s3';
import { type RetryPolicy, type S3Connection, s3Call, withRetry } from '@kloset/s3-common';

/** HeadObject of `key` (of `versionId`, when given), with its checksum if it has one. */
export function headObject(
  conn: S3Connection,
  key: string,
  retry: RetryPolicy,
  signal: AbortSignal | undefined,
  versionId?: string,
): Promise<HeadObjectCommandOutput> {
  const { bucket, endpoint } = conn.settings.location;
  const target = versionId !== undefined ? `${key} (version ${versionId})` : key;
  return withRetry(
    () =>
      s3Call(
        { op: 'HeadObject', bucket, key: target, endpoint },
        () =>
          conn.client.send(
            new HeadObjectCommand({
              Bucket: bucket,
              Key: key,
              ChecksumMode: 'ENABLED',
              ...(versionId !== undefined ? { VersionId: versionId } : {}),
            }),
            { abortSignal: signal },
          ),
        signal,
      ),
    retry,
    signal,
  );
}

/**
 * The tags of `key` (of `versionId` when the bucket is versioned). A `null` version id, as a
 * GetObject answer gives it for an unversioned object, asks for the current version, unless
 * `listedVersion` (the id comes from ListObjectVersions, `versions=all`): then it asks for exactly
 * the null version, which need not be the current one.
 */
export async function objectTags(
  conn: S3Connection,
  key: string,
  versionId: string | undefined,
  retry: RetryPolicy,
  signal: AbortSignal | undefined,
  listedVersion = false,
): Promise<Tag[]> {
  const { bucket, endpoint } = conn.settings.location;
  const out = await withRetry(
    () =>
      s3Call(
        {
          op: 'GetObjectTagging',
          bucket,
          key: versionId !== undefined ? `${key} (version ${versionId})` : key,
          endpoint,
        },
        () =>
          conn.client.send(
            new GetObjectTaggingCommand({
              Bucket: bucket,
              Key: key,
              ...(versionId && (versionId !== 'null' || listedVersion) ? { VersionId: versionId } : {}),
            }),
            { abortSignal: signal },
          ),
        signal,
      ),
    retry,
    signal,
  );
  return out.TagSet ?? [];
}
