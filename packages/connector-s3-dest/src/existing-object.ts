/**
 * What a restore finds already in the destination bucket (Destination.stat / readExisting of
 * S3Destination): one HeadObject per entry, ranged GetObjects to read what is there. Read-only.
 */
import type { ExistingEntry } from '@kloset/connector-contract';
import {
  etagIsBodyMd5,
  headObjectIfExists,
  META_ETAG,
  META_SSE,
  type RetryPolicy,
  type S3Connection,
  s3Call,
  s3ErrorCode,
  unquoteEtag,
  withRetry,
} from '@kloset/s3-common';

/**
 * The MD5 of the content an entry was backed up with, when its metadata says it: an S3 object whose
 * ETag was the MD5 of its body (single PUT, no SSE-KMS), which the S3 source verified as it read it.
 */
function recordedMd5(metadata: Readonly<Record<string, string>>): string | undefined {
  const etag = metadata[META_ETAG];
  if (etag === undefined) return undefined;
  const sse = metadata[META_SSE];
  return etagIsBodyMd5({ ETag: etag, ...(sse === undefined ? {} : { ServerSideEncryption: sse }) })
    ? unquoteEtag(etag).toLowerCase()
    : undefined;
}

/**
 * What exists under `key`: an object (`file`) with its size and, when both the object's ETag and the
 * entry's recorded one are MD5s of the bodies, whether they are equal (`sameContent`); undefined when
 * there is no such object.
 */
export async function statObject(
  conn: S3Connection,
  key: string,
  metadata: Readonly<Record<string, string>>,
  retry: RetryPolicy,
): Promise<ExistingEntry | undefined> {
  const head = await headObjectIfExists(conn, key, retry);
  if (head === undefined) return undefined;
  const size = head.ContentLength ?? 0;
  const recorded = recordedMd5(metadata);
  if (recorded === undefined || !etagIsBodyMd5(head)) return { type: 'file', size };
  return { type: 'file', size, sameContent: unquoteEtag(head.ETag!).toLowerCase() === recorded };
}

/** Reads `into.length` bytes from `offset` of the object `key` into `into`; undefined when it cannot. */
export async function readObjectRange(
  conn: S3Connection,
  key: string,
  offset: number,
  into: Uint8Array,
  retry: RetryPolicy,
): Promise<Uint8Array | undefined> {
  if (!Number.isSafeInteger(offset) || offset < 0) return undefined;
  if (into.length === 0) return (await headObjectIfExists(conn, key, retry)) === undefined ? undefined : into;
  const { bucket, endpoint } = conn.settings.location;
  const ctx = { op: 'GetObject', bucket, key, endpoint };
  try {
    return await withRetry(
      () =>
        s3Call(ctx, async () => {
          const { body } = await conn.getObject({ key, offset, length: into.length });
          let got = 0;
          try {
            for await (const chunk of body) {
              if (got + chunk.length > into.length) return undefined;
              into.set(chunk, got);
              got += chunk.length;
            }
          } finally {
            body.destroy();
          }
          return got === into.length ? into : undefined;
        }),
      retry,
    );
  } catch (err) {
    const code = s3ErrorCode(err);
    if (code === 'InvalidRange' || code === 'NoSuchKey' || code === 'NoSuchBucket') return undefined;
    throw err;
  }
}
