/**
 * Helpers of the tests of versioned buckets through the built binary (e2e-s3-versions,
 * e2e-s3-restore-at, e2e-s3-all-versions): the binary without the caller's AWS_* variables, the
 * options of a bucket location, writing a version with its own headers, metadata and tags and
 * reading one back, every version of a bucket as ListObjectVersions lists it (all pages), and
 * emptying a versioned bucket.
 */
import {
  GetObjectCommand,
  GetObjectTaggingCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { listingKeyDecoder } from '@kloset/s3-common';
import { emptyPrefix, type S3TestEnv } from '@kloset/s3-common/testing';
import type { CliHome } from './cli-home.ts';
import { type SpawnResult, spawnCli } from './spawn.ts';

/** The built binary in the test's home (read when called); no AWS_* variable of the caller's environment reaches it. */
export function binaryIn(
  home: () => CliHome,
  passphrase: string,
  timeoutMs = 300_000,
): (argv: readonly string[]) => Promise<SpawnResult> {
  return (argv) => {
    const unset: Record<string, undefined> = {};
    for (const name of Object.keys(process.env)) if (name.startsWith('AWS_')) unset[name] = undefined;
    const h = home();
    return spawnCli(argv, {
      bin: true,
      cwd: h.work,
      env: { ...unset, ...h.env, KLOSET_PASSPHRASE: passphrase },
      timeoutMs,
    });
  };
}

/** One version or delete marker as ListObjectVersions lists it. */
export interface ListedVersion {
  readonly key: string;
  readonly versionId: string;
  readonly lastModified: Date;
  readonly size: number;
  readonly isLatest: boolean;
  readonly deleteMarker: boolean;
}

/** Every version and delete marker of `bucket` under `prefix`, page after page (URL-encoded keys decoded). */
export async function* listVersions(
  client: S3Client,
  bucket: string,
  prefix?: string,
): AsyncGenerator<ListedVersion> {
  let keyMarker: string | undefined;
  let idMarker: string | undefined;
  for (;;) {
    const page = await client.send(
      new ListObjectVersionsCommand({
        Bucket: bucket,
        EncodingType: 'url',
        ...(prefix !== undefined ? { Prefix: prefix } : {}),
        ...(keyMarker !== undefined ? { KeyMarker: keyMarker, VersionIdMarker: idMarker } : {}),
      }),
    );
    const decode = listingKeyDecoder(page.EncodingType);
    const all = [
      ...(page.Versions ?? []).map((v) => ({ ...v, marker: false })),
      ...(page.DeleteMarkers ?? []).map((d) => ({ ...d, Size: 0, marker: true })),
    ];
    for (const v of all) {
      yield {
        key: decode(v.Key ?? ''),
        versionId: v.VersionId ?? 'null',
        lastModified: v.LastModified!,
        size: v.Size ?? 0,
        isLatest: v.IsLatest === true,
        deleteMarker: v.marker,
      };
    }
    if (!page.IsTruncated) return;
    keyMarker = decode(page.NextKeyMarker ?? '');
    idMarker = page.NextVersionIdMarker;
  }
}

/**
 * Deletes every version of a versioned bucket. A version-id-marker whose version was just deleted
 * ends RGW's listing early (a pass may delete one page, 1,000 versions, of a key with many): the
 * bucket is emptied in passes until nothing is listed, at most 50 (50,000 versions of one key).
 */
export async function emptyVersioned(client: S3Client, bucket: string | undefined): Promise<void> {
  for (let pass = 0; pass < 50 && bucket !== undefined; pass++) {
    const left = await client.send(new ListObjectVersionsCommand({ Bucket: bucket, MaxKeys: 1 }));
    if ((left.Versions ?? []).length + (left.DeleteMarkers ?? []).length === 0) break;
    await emptyPrefix(client, bucket);
  }
}

/** The options of `source add` / `destination add` for bucket `b` of the test server. */
export function bucketOptions(env: S3TestEnv, b: string): string[] {
  return [
    `location=s3://${env.host}/${b}`,
    `access_key=${env.accessKey}`,
    `secret_access_key=${env.secretKey}`,
    `use_tls=${env.useTls}`,
  ];
}

/** PUTs `body` at `key` with its Content-Type, user metadata `rev` and tags `rev` and `key`. */
export async function putRev(
  client: S3Client,
  b: string,
  key: string,
  body: string,
  contentType: string,
  rev: string,
): Promise<void> {
  await client.send(
    new PutObjectCommand({
      Bucket: b,
      Key: key,
      Body: body,
      ContentType: contentType,
      Metadata: { rev },
      Tagging: `rev=${rev}&key=${encodeURIComponent(key)}`,
    }),
  );
}

/** One object (or version) as compared: body, Content-Type, user metadata, tags. */
export interface ReadObject {
  body: string;
  contentType: string | undefined;
  metadata: Record<string, string>;
  tags: Record<string, string>;
}

/** The object at `key` of `b` (its version `versionId`, if given), read with the test's client. */
export async function readObject(
  client: S3Client,
  b: string,
  key: string,
  versionId?: string,
): Promise<ReadObject> {
  const v = versionId === undefined ? {} : { VersionId: versionId };
  const got = await client.send(new GetObjectCommand({ Bucket: b, Key: key, ...v }));
  const tagging = await client.send(new GetObjectTaggingCommand({ Bucket: b, Key: key, ...v }));
  return {
    body: (await got.Body?.transformToString()) ?? '',
    contentType: got.ContentType,
    metadata: got.Metadata ?? {},
    tags: Object.fromEntries((tagging.TagSet ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
  };
}
