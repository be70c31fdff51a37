/**
 * The versions of the objects under a prefix (ListObjectVersions, page by page: memory does not
 * grow with their count), and the version of each key that was current at an instant.
 */
import { ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { listingKeyDecoder, type S3Connection, s3Call } from '@kloset/s3-common';

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
 * Keys in order, newest first within a key. Times have the server's precision (milliseconds on
 * RGW, seconds on AWS): of two entries of one second, the current one counts as the newer.
 */
function newestFirst(a: ObjectVersion, b: ObjectVersion): number {
  if (a.key !== b.key) return a.key < b.key ? -1 : 1;
  return b.modified - a.modified || Number(b.latest) - Number(a.latest);
}

/** One page of versions and delete markers under `prefix`, sorted by key (as S3 lists them). */
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
    const decode = listingKeyDecoder(page.EncodingType);
    const out: ObjectVersion[] = [];
    const add = (
      v: { Key?: string; VersionId?: string; LastModified?: Date; IsLatest?: boolean; Size?: number },
      deleteMarker: boolean,
    ) => {
      const modified = v.LastModified?.getTime();
      if (v.Key === undefined || modified === undefined || Number.isNaN(modified)) return;
      out.push({
        key: decode(v.Key),
        versionId: v.VersionId ?? 'null',
        modified,
        size: v.Size ?? 0,
        deleteMarker,
        latest: v.IsLatest === true,
      });
    };
    for (const v of page.Versions ?? []) add(v, false);
    for (const m of page.DeleteMarkers ?? []) add(m, true);
    out.sort(newestFirst);
    yield out;
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
