/**
 * The versions of the objects under a prefix (ListObjectVersions, page by page: memory does not
 * grow with their count), and the version of each key that was current at an instant.
 */
import { ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { listingKeyDecoder, pageVersions, type S3Connection, s3Call } from '@kloset/s3-common';

/** One version of a key, or a delete marker. */
export interface ObjectVersion {
  readonly key: string;
  readonly versionId: string;
  /** When it was written (Unix ms; the listing has milliseconds). */
  readonly modified: number;
  readonly size: number;
  readonly deleteMarker: boolean;
  /** The current version (or marker) of the key. */
  readonly latest: boolean;
}

/**
 * Versions and delete markers under `prefix`, page by page, in listing order (keys in UTF-8
 * binary order, newest first within a key; pageVersions of s3-common). Times have the server's
 * precision (milliseconds on RGW, seconds on AWS): of two entries of one second, the current one
 * comes first.
 */
async function* versionPages(
  conn: S3Connection,
  bucket: string,
  prefix: string,
): AsyncGenerator<ObjectVersion[]> {
  let keyMarker: string | undefined;
  let versionMarker: string | undefined;
  const endpoint = conn.settings.location.endpoint;
  do {
    const page = await s3Call({ op: 'ListObjectVersions', bucket, key: prefix, endpoint }, () =>
      conn.client.send(
        new ListObjectVersionsCommand({
          Bucket: bucket,
          Prefix: prefix,
          EncodingType: 'url',
          ...(keyMarker !== undefined ? { KeyMarker: keyMarker } : {}),
          ...(versionMarker !== undefined ? { VersionIdMarker: versionMarker } : {}),
        }),
      ),
    );
    yield pageVersions(page).map((v) => ({
      key: v.key,
      versionId: v.versionId,
      modified: v.lastModifiedMs,
      size: v.size,
      deleteMarker: v.deleteMarker,
      latest: v.isLatest,
    }));
    const decode = listingKeyDecoder(page.EncodingType);
    keyMarker = page.IsTruncated ? decode(page.NextKeyMarker ?? '') : undefined;
    versionMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
  } while (keyMarker !== undefined && keyMarker !== '');
}

/** Every version and delete marker under `prefix`, keys in order, newest first within a key. */
export async function* listVersions(
  conn: S3Connection,
  bucket: string,
  prefix: string,
): AsyncGenerator<ObjectVersion> {
  for await (const page of versionPages(conn, bucket, prefix)) yield* page;
}

/**
 * For each key under `prefix`, the version current at `asOf`: the newest written at or before it.
 * Keys whose version then is a delete marker, or that had none yet, are left out.
 */
export async function* versionsAsOf(
  conn: S3Connection,
  bucket: string,
  prefix: string,
  asOf: number,
): AsyncGenerator<ObjectVersion> {
  let key: string | undefined;
  let best: ObjectVersion | undefined;
  for await (const v of listVersions(conn, bucket, prefix)) {
    if (v.key !== key) {
      if (best !== undefined && !best.deleteMarker) yield best;
      key = v.key;
      best = undefined;
    }
    if (v.modified <= asOf && (best === undefined || v.modified > best.modified)) best = v;
  }
  if (best !== undefined && !best.deleteMarker) yield best;
}
