/** Incomplete multipart uploads, as a writer killed midway leaves them: for tests of their cleanup. */
import {
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';

/**
 * Starts a multipart upload of `key` and uploads one part of `bytes` bytes (any size: only a
 * completion checks sizes), then leaves it. Resolves with its upload id.
 */
export async function startIncompleteUpload(
  client: S3Client,
  bucket: string,
  key: string,
  bytes: number,
): Promise<string> {
  const created = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  const uploadId = created.UploadId;
  if (uploadId === undefined) throw new Error(`CreateMultipartUpload of ${bucket}/${key}: no upload id`);
  await client.send(
    new UploadPartCommand({
      Bucket: bucket,
      Key: key,
      UploadId: uploadId,
      PartNumber: 1,
      Body: new Uint8Array(bytes).fill(7),
    }),
  );
  return uploadId;
}

/** The keys of the incomplete uploads in `bucket` (under `prefix`), sorted, one per upload. */
export async function incompleteUploadKeys(client: S3Client, bucket: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  for (;;) {
    const page = await client.send(
      new ListMultipartUploadsCommand({
        Bucket: bucket,
        ...(prefix ? { Prefix: prefix } : {}),
        ...(keyMarker !== undefined ? { KeyMarker: keyMarker } : {}),
        ...(uploadIdMarker !== undefined ? { UploadIdMarker: uploadIdMarker } : {}),
      }),
    );
    for (const u of page.Uploads ?? []) if (u.Key !== undefined) out.push(u.Key);
    if (!page.IsTruncated) return out.sort();
    keyMarker = page.NextKeyMarker;
    uploadIdMarker = page.NextUploadIdMarker;
  }
}
