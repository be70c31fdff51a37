/** Creating and removing throw-away buckets on the test server. */
import { randomBytes } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  type ObjectIdentifier,
  type S3Client,
} from '@aws-sdk/client-s3';
import { listingKeyDecoder } from '../listing-keys.ts';

// biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters looked for.
const XML_UNSAFE = /[\u0000-\u0008\u000B\u000C\u000D\u000E-\u001F\uFFFE\uFFFF]/;

/** A bucket name nobody else uses: `kloset-<what>-<random>`. */
export function uniqueBucketName(what: string): string {
  const clean = what
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 30);
  return `kloset-${clean}-${randomBytes(5).toString('hex')}`;
}

/** Creates a new bucket and returns its name. */
export async function createTestBucket(client: S3Client, what: string): Promise<string> {
  const bucket = uniqueBucketName(what);
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

/**
 * Deletes every object (and version) under `prefix`, and aborts pending multipart uploads.
 * Versions under a GOVERNANCE retention (Object Lock) are deleted too (the bypass header).
 */
export async function emptyPrefix(client: S3Client, bucket: string, prefix = ''): Promise<void> {
  let keyMarker: string | undefined;
  let versionMarker: string | undefined;
  do {
    const page = await client.send(
      new ListObjectVersionsCommand({
        Bucket: bucket,
        Prefix: prefix,
        EncodingType: 'url',
        ...(keyMarker !== undefined ? { KeyMarker: keyMarker } : {}),
        ...(versionMarker !== undefined ? { VersionIdMarker: versionMarker } : {}),
      }),
    );
    const decode = listingKeyDecoder(page.EncodingType);
    const ids: ObjectIdentifier[] = [];
    for (const v of [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]) {
      if (v.Key !== undefined)
        ids.push({ Key: decode(v.Key), ...(v.VersionId ? { VersionId: v.VersionId } : {}) });
    }
    // Keys with characters XML 1.0 cannot carry (or normalises, like CR) go one by one in the URL.
    const single = ids.filter((id) => XML_UNSAFE.test(id.Key ?? ''));
    const batch = ids.filter((id) => !XML_UNSAFE.test(id.Key ?? ''));
    for (const id of single) {
      await client.send(
        new DeleteObjectCommand({
          Bucket: bucket,
          Key: id.Key,
          VersionId: id.VersionId,
          BypassGovernanceRetention: true,
        }),
      );
    }
    for (let i = 0; i < batch.length; i += 1000) {
      await client.send(
        new DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: batch.slice(i, i + 1000), Quiet: true },
          BypassGovernanceRetention: true,
        }),
      );
    }
    keyMarker = page.IsTruncated ? decode(page.NextKeyMarker ?? '') : undefined;
    versionMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
  } while (keyMarker !== undefined);
  const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }));
  for (const u of uploads.Uploads ?? []) {
    if (u.Key && u.UploadId) {
      await client.send(
        new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key, UploadId: u.UploadId }),
      );
    }
  }
}

/** Empties and deletes a bucket; a bucket that is already gone is fine. */
export async function deleteTestBucket(client: S3Client, bucket: string): Promise<void> {
  try {
    await emptyPrefix(client, bucket);
    await client.send(new DeleteBucketCommand({ Bucket: bucket }));
  } catch (err) {
    if ((err as { name?: string }).name !== 'NoSuchBucket') throw err;
  }
}
