/**
 * Fills a bucket with objects that exercise what kloset keeps: nested "folders", headers, user
 * metadata, tags, keys that are not valid file paths, empty and larger bodies, duplicates.
 * Deterministic: the same bucket content every run. Used by the demo (tools/demo) and the CLI's
 * end-to-end tests.
 */
import {
  CreateBucketCommand,
  PutObjectCommand,
  type PutObjectCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';

/** A small deterministic PRNG (xorshift32) so bodies are the same every run. */
function pseudoRandom(seed: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** The demo bucket's objects (without Bucket), the same every call. */
export function demoObjects(): PutObjectCommandInput[] {
  const text = (s: string) => new TextEncoder().encode(s);
  const objs: Omit<PutObjectCommandInput, 'Bucket'>[] = [
    {
      Key: 'index.html',
      Body: text('<h1>kloset demo</h1>\n'),
      ContentType: 'text/html; charset=utf-8',
      CacheControl: 'max-age=300',
    },
    {
      Key: 'assets/app.js.gz',
      Body: text('console.log("hi")\n'),
      ContentType: 'application/javascript',
      ContentEncoding: 'gzip',
      ContentLanguage: 'en',
      ContentDisposition: 'inline; filename="app.js"',
      Metadata: { origin: 'build-42', owner: 'web team' },
      Tagging: 'env=prod&team=web',
    },
    {
      Key: 'assets/logo.bin',
      Body: pseudoRandom(1, 3 * 1024 * 1024 + 17),
      ContentType: 'application/octet-stream',
    },
    {
      Key: 'assets/logo-copy.bin',
      Body: pseudoRandom(1, 3 * 1024 * 1024 + 17),
      ContentType: 'application/octet-stream',
    },
    {
      Key: 'reports/2026/11/summary.csv',
      Body: text('day,count\n1,42\n'),
      ContentType: 'text/csv',
      Metadata: { rows: '1' },
    },
    { Key: 'reports/2026/11/', Body: new Uint8Array(0) },
    { Key: 'empty.txt', Body: new Uint8Array(0), ContentType: 'text/plain' },
    { Key: 'a', Body: text('file a next to folder a/\n') },
    { Key: 'a/b', Body: text('file a/b\n'), Tagging: 'kind=nested' },
    { Key: 'double//slash', Body: text('double slash\n') },
    { Key: '/leading-slash', Body: text('leading slash\n') },
    { Key: 'dots/./and/../here', Body: text('dot segments\n') },
    { Key: 'unicode/été/日本語/😀.txt', Body: text('unicode\n'), ContentType: 'text/plain; charset=utf-8' },
    { Key: 'control/tab\there', Body: text('control character\n') },
    { Key: 'folder-marker-with-body/', Body: text('a folder marker with a body\n') },
    { Key: `long/${'k'.repeat(1024 - 'long/'.length)}`, Body: text('1,024-byte key\n') },
    {
      Key: 'expires.txt',
      Body: text('expires\n'),
      Expires: new Date('2030-01-01T00:00:00Z'),
      WebsiteRedirectLocation: '/index.html',
    },
  ];
  for (let i = 0; i < 40; i++) {
    objs.push({
      Key: `logs/app-${String(i).padStart(3, '0')}.log`,
      Body: text(`line ${i}\n`.repeat(200 + i)),
      ContentType: 'text/plain',
    });
  }
  return objs as PutObjectCommandInput[];
}

/** Creates `bucket` (an existing one of ours is fine) and puts the demo objects; returns their count. */
export async function seedBucket(s3: S3Client, bucket: string): Promise<number> {
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (err) {
    const name = (err as { name?: string }).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw err;
  }
  const objs = demoObjects();
  for (const o of objs) await s3.send(new PutObjectCommand({ ...o, Bucket: bucket }));
  return objs.length;
}
