/**
 * Reads everything that kloset promises to keep about a bucket's objects (key, body digest, size,
 * Content-* and Cache-Control headers, user metadata, tags) with an independent client, one object
 * at a time, so two buckets can be compared object by object.
 */
import { createHash } from 'node:crypto';
import {
  GetObjectCommand,
  GetObjectTaggingCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';

export interface ObjectFacts {
  readonly key: string;
  readonly size: number;
  readonly sha256: string;
  readonly headers: Record<string, string>;
  readonly metadata: Record<string, string>;
  readonly tags: Record<string, string>;
}

export async function* listKeys(s3: S3Client, bucket: string, prefix = ''): AsyncIterable<string> {
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        ContinuationToken: token,
        EncodingType: 'url',
      }),
    );
    for (const o of page.Contents ?? []) yield decodeURIComponent(o.Key!);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

export async function objectFacts(s3: S3Client, bucket: string, key: string): Promise<ObjectFacts> {
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const hash = createHash('sha256');
  let size = 0;
  for await (const part of got.Body as AsyncIterable<Uint8Array>) {
    hash.update(part);
    size += part.length;
  }
  const headers: Record<string, string> = {};
  const put = (name: string, v: string | Date | undefined) => {
    if (v !== undefined) headers[name] = v instanceof Date ? v.toUTCString() : v;
  };
  put('Content-Type', got.ContentType);
  put('Content-Encoding', got.ContentEncoding);
  put('Content-Disposition', got.ContentDisposition);
  put('Content-Language', got.ContentLanguage);
  put('Cache-Control', got.CacheControl);
  put('Expires', got.ExpiresString ?? got.Expires);
  put('Website-Redirect-Location', got.WebsiteRedirectLocation);
  const tags: Record<string, string> = {};
  if ((got.TagCount ?? 0) > 0) {
    const t = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
    for (const tag of t.TagSet ?? []) tags[tag.Key!] = tag.Value ?? '';
  }
  return { key, size, sha256: hash.digest('hex'), headers, metadata: { ...got.Metadata }, tags };
}

/** Differences between two buckets, as lines; empty when they hold the same objects. */
export async function compareBuckets(s3: S3Client, a: string, b: string, limit = 20): Promise<string[]> {
  const diffs: string[] = [];
  const keysA: string[] = [];
  for await (const k of listKeys(s3, a)) keysA.push(k);
  const keysB: string[] = [];
  for await (const k of listKeys(s3, b)) keysB.push(k);
  const setB = new Set(keysB);
  for (const k of keysA) if (!setB.has(k)) diffs.push(`missing in ${b}: ${JSON.stringify(k)}`);
  const setA = new Set(keysA);
  for (const k of keysB) if (!setA.has(k)) diffs.push(`extra in ${b}: ${JSON.stringify(k)}`);
  for (const k of keysA) {
    if (diffs.length >= limit) break;
    if (!setB.has(k)) continue;
    const [fa, fb] = await Promise.all([objectFacts(s3, a, k), objectFacts(s3, b, k)]);
    const ja = JSON.stringify(fa);
    const jb = JSON.stringify(fb);
    if (ja !== jb) diffs.push(`differs: ${JSON.stringify(k)}\n  ${a}: ${ja}\n  ${b}: ${jb}`);
  }
  return diffs;
}
