/**
 * Seeding a bucket with objects whose keys are not valid paths and whose headers, metadata and tags
 * must survive a round trip, and reading a bucket back with an independent client to compare.
 */
import { createHash } from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  PutObjectTaggingCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { listingKeyDecoder } from '../listing-keys.ts';

/** One object to seed. */
export interface SeedObject {
  /** Key relative to the seeding prefix. */
  readonly key: string;
  readonly body: Uint8Array;
  readonly contentType?: string;
  readonly contentEncoding?: string;
  readonly contentDisposition?: string;
  readonly contentLanguage?: string;
  readonly cacheControl?: string;
  readonly expires?: Date;
  readonly websiteRedirectLocation?: string;
  readonly metadata?: Record<string, string>;
  readonly tags?: Record<string, string>;
  /** Upload in parts of this size (multipart ETag `-N`). */
  readonly multipartPartSize?: number;
}

/** Deterministic bytes for test bodies. */
export function seedBytes(seed: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = (seed * 2654435761) >>> 0;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/**
 * Keys that are not valid paths, or that collide as paths, with `keyBudget` bytes available (1024
 * minus the longest prefix they will be put under).
 */
export function trickyKeys(keyBudget = 1024): string[] {
  const longTail = 'k'.repeat(keyBudget - 'long/'.length - 2 * 100);
  return [
    'a',
    'a!',
    'a-1',
    'a/b',
    'a/b/c',
    'dir/',
    'dir/file',
    'empty-dir/',
    'x//y',
    '//',
    '/lead',
    '/',
    'p/./q',
    'p/../q',
    '.',
    '..',
    './x',
    '../y',
    'end/.',
    'ünï/cødé.txt',
    'ctl\u0001\u0002\r\n\tx',
    'tab\there',
    'sp ace/f',
    '%',
    '%2F',
    'a%2Fb',
    '\u{1F600}/e',
    '\uE000',
    'quote"\'<&>',
    `long/${'d/'.repeat(100)}${longTail}`,
  ];
}

/** The tricky keys as objects, some with every header, metadata and tags. */
export function trickyObjects(keyBudget = 1024): SeedObject[] {
  return trickyKeys(keyBudget).map((key, i) => {
    const body = key.endsWith('/') ? new Uint8Array(0) : seedBytes(i + 1, (i * 997) % 5000);
    if (i % 3 !== 0) return { key, body };
    return {
      key,
      body,
      contentType: i % 2 ? 'text/plain; charset=utf-8' : 'application/x-kloset-test',
      contentEncoding: 'identity',
      contentDisposition: `attachment; filename="f${i}.bin"`,
      contentLanguage: 'fr-FR',
      cacheControl: 'max-age=3600, must-revalidate',
      expires: new Date(Date.UTC(2031, 0, 2, 3, 4, i % 60)),
      websiteRedirectLocation: `/elsewhere/${i}`,
      metadata: { color: 'blue', 'with-dash': `value ${i}` },
      tags: { team: 'a b', [`k${i}/x`]: '=&?' },
    };
  });
}

function tagging(tags: Record<string, string> | undefined): string | undefined {
  if (!tags || Object.keys(tags).length === 0) return undefined;
  return Object.entries(tags)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
}

/** Puts `objects` under `prefix` with the plain SDK, `parallel` at a time. */
export async function seedObjects(
  client: S3Client,
  bucket: string,
  prefix: string,
  objects: readonly SeedObject[],
  parallel = 16,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < objects.length) {
      const o = objects[next++]!;
      const Key = `${prefix}${o.key}`;
      const headers = {
        ...(o.contentType ? { ContentType: o.contentType } : {}),
        ...(o.contentEncoding ? { ContentEncoding: o.contentEncoding } : {}),
        ...(o.contentDisposition ? { ContentDisposition: o.contentDisposition } : {}),
        ...(o.contentLanguage ? { ContentLanguage: o.contentLanguage } : {}),
        ...(o.cacheControl ? { CacheControl: o.cacheControl } : {}),
        ...(o.expires ? { Expires: o.expires } : {}),
        ...(o.websiteRedirectLocation ? { WebsiteRedirectLocation: o.websiteRedirectLocation } : {}),
        ...(o.metadata ? { Metadata: o.metadata } : {}),
        ...(tagging(o.tags) ? { Tagging: tagging(o.tags) } : {}),
      };
      if (!o.multipartPartSize) {
        await client.send(new PutObjectCommand({ Bucket: bucket, Key, Body: o.body, ...headers }));
        continue;
      }
      const { UploadId } = await client.send(
        new CreateMultipartUploadCommand({ Bucket: bucket, Key, ...headers }),
      );
      const parts = [];
      for (let off = 0, n = 1; off < o.body.length; off += o.multipartPartSize, n++) {
        const Body = o.body.subarray(off, off + o.multipartPartSize);
        const r = await client.send(
          new UploadPartCommand({ Bucket: bucket, Key, UploadId, PartNumber: n, Body }),
        );
        parts.push({ PartNumber: n, ETag: r.ETag });
      }
      await client.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key,
          UploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
      // Ceph RGW 16 ignores x-amz-tagging on CreateMultipartUpload.
      if (o.tags && Object.keys(o.tags).length > 0) {
        const TagSet = Object.entries(o.tags).map(([Key, Value]) => ({ Key, Value }));
        await client.send(new PutObjectTaggingCommand({ Bucket: bucket, Key, Tagging: { TagSet } }));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, objects.length) }, worker));
}

/** What an independent client sees of one object. */
export interface ObjectView {
  readonly size: number;
  readonly sha256: string;
  readonly contentType?: string;
  readonly contentEncoding?: string;
  readonly contentDisposition?: string;
  readonly contentLanguage?: string;
  readonly cacheControl?: string;
  readonly expires?: string;
  readonly websiteRedirectLocation?: string;
  readonly metadata: Record<string, string>;
  readonly tags: Record<string, string>;
}

/** One object of a listing: its full key (decoded), size and ETag (quoted, as listed). */
export interface ListedKey {
  readonly key: string;
  readonly size: number;
  readonly etag: string;
}

/** The pages of a paginated ListObjectsV2 under `prefix`, keys sent URL-encoded and decoded. */
export async function* listPages(
  client: S3Client,
  bucket: string,
  prefix: string,
): AsyncGenerator<ListedKey[]> {
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        EncodingType: 'url',
        ...(token ? { ContinuationToken: token } : {}),
      }),
    );
    const decode = listingKeyDecoder(page.EncodingType);
    yield (page.Contents ?? []).map((o) => ({
      key: decode(o.Key ?? ''),
      size: o.Size ?? 0,
      etag: o.ETag ?? '',
    }));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

/**
 * Every object under `prefix` (keys relative to it) as an independent client sees it: ListObjectsV2
 * (URL-encoded keys), GetObject (body hash), HeadObject (headers, metadata), GetObjectTagging.
 */
export async function viewObjects(
  client: S3Client,
  bucket: string,
  prefix: string,
): Promise<Map<string, ObjectView>> {
  const out = new Map<string, ObjectView>();
  for await (const page of listPages(client, bucket, prefix)) {
    await Promise.all(
      page.map(async ({ key }) => {
        const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        const body = await got.Body!.transformToByteArray();
        const tags = await client.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
        const view: ObjectView = {
          size: body.length,
          sha256: createHash('sha256').update(body).digest('hex'),
          ...(head.ContentType ? { contentType: head.ContentType } : {}),
          ...(head.ContentEncoding ? { contentEncoding: head.ContentEncoding } : {}),
          ...(head.ContentDisposition ? { contentDisposition: head.ContentDisposition } : {}),
          ...(head.ContentLanguage ? { contentLanguage: head.ContentLanguage } : {}),
          ...(head.CacheControl ? { cacheControl: head.CacheControl } : {}),
          ...(head.ExpiresString ? { expires: head.ExpiresString } : {}),
          ...(head.WebsiteRedirectLocation ? { websiteRedirectLocation: head.WebsiteRedirectLocation } : {}),
          metadata: { ...(head.Metadata ?? {}) },
          tags: Object.fromEntries((tags.TagSet ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
        };
        out.set(key.slice(prefix.length), view);
      }),
    );
  }
  return out;
}
