/** S3Destination: key rules, large objects, failures. */
import { createHash } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
} from '@aws-sdk/client-s3';
import { ConnectorError } from '@kloset/connector-contract';
import { nodeBody, readS3Settings } from '@kloset/s3-common';
import {
  incompleteUploadKeys,
  s3TestBuckets,
  s3TestParams,
  seedBytes,
  startIncompleteUpload,
} from '@kloset/s3-common/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createS3Destination,
  parseAbortUploadsAfter,
  relativeKey,
  S3_DESTINATION_OPTIONS,
  S3Destination,
  s3DestinationConnector,
} from '../src/index.ts';
import { file } from './entries.ts';

const s3 = s3TestBuckets();
const { env, client: plain } = s3;
const MiB = 1024 * 1024;
let bucket = '';

/** Buffers still referenced (garbage collected first, so that only live ones count). */
function liveBuffers(): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  // V8 frees the memory of dead ArrayBuffers on a background thread after a collection; a second
  // collection first waits for that, so the count is of live buffers only (on a loaded CI machine
  // the lag once counted an 8 MiB part already released: 51.4 MB against the 48 MiB bound).
  gc();
  gc();
  return process.memoryUsage().arrayBuffers;
}

beforeAll(async () => {
  bucket = await s3.create('dest');
});
afterAll(async () => {
  await s3.dispose();
});

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

async function keys(prefix: string): Promise<string[]> {
  const out = await plain.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key ?? '').sort();
}

function dest(
  prefix: string,
  options: Record<string, string | number> = {},
  extra: Partial<ConstructorParameters<typeof S3Destination>[0]> = {},
): S3Destination {
  return new S3Destination({
    settings: readS3Settings(s3TestParams(env, bucket, prefix, options), S3_DESTINATION_OPTIONS),
    retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 },
    ...extra,
  });
}

describe('relativeKey', () => {
  it('strips the restored root prefix from the exact key', () => {
    expect(
      relativeKey(file('/2024/a.jpg', 1, { 's3.key': 'data/photos/2024/a.jpg' }), 'data/photos/'),
    ).toEqual({ key: '2024/a.jpg' });
    expect(relativeKey(file('/%', 0, { 's3.key': 'data/photos/' }), 'data/photos/')).toEqual({ key: '' });
  });

  it('rebuilds the key from the path names when the root prefix is unknown', () => {
    expect(relativeKey(file('/a/%/%..%/%%25', 1, { 's3.key': 'zz' }), undefined)).toEqual({ key: 'a//../%' });
    expect(relativeKey(file('/%a%', 1, { 's3.key': 'p/a' }), undefined)).toEqual({ key: 'a' });
    expect(relativeKey(file('/%bad', 1, { 's3.key': 'p/x' }), undefined)).toHaveProperty('error');
  });

  it('names a file restored alone after the last segment of its key', () => {
    expect(relativeKey(file('/', 1, { 's3.key': 'data/photos/a.jpg' }), undefined)).toEqual({ key: 'a.jpg' });
  });

  it('uses the path of entries from other sources', () => {
    expect(relativeKey(file('/docs/%20 x.txt', 1), undefined)).toEqual({ key: 'docs/%20 x.txt' });
    expect(relativeKey(file('/docs/a', 1), 'ignored/')).toEqual({ key: 'docs/a' });
  });
});

describe('S3 destination on RGW', () => {
  it('the manifest part declares the s3 protocol and storage_class', () => {
    expect(s3DestinationConnector.role).toBe('destination');
    expect(s3DestinationConnector.protocols).toEqual(['s3']);
    expect(s3DestinationConnector.options.map((o) => o.name)).toContain('storage_class');
  });

  it('streams a 100 MiB object through multipart with bounded memory', async () => {
    const size = 100 * MiB;
    const sha = createHash('sha256');
    async function* generate(): AsyncGenerator<Uint8Array> {
      for (let off = 0, i = 0; off < size; i++) {
        const n = Math.min(1 * MiB + 17, size - off);
        const chunk = seedBytes(i, n);
        sha.update(chunk);
        off += n;
        yield chunk;
      }
    }
    const d = dest('big', { concurrency: 4 }, { partSize: 8 * MiB, partsInFlight: 3, memoryBytes: 32 * MiB });
    const before = liveBuffers();
    let peak = before;
    const watch = setInterval(() => (peak = Math.max(peak, liveBuffers())), 50);
    try {
      const r = await d.write(
        file('/huge.bin', size, { 's3.content-type': 'application/x-huge', 's3.tag.size': 'huge' }),
        generate(),
      );
      expect(r.ok, r.error).toBe(true);
    } finally {
      clearInterval(watch);
      await d.close();
    }
    // The budget is 32 MiB of parts; allow one more part (buffers the HTTP layer releases late)
    // and the chunk being read: far below the 100 MiB of the object.
    expect(peak - before, 'live buffers while uploading 100 MiB').toBeLessThan(48 * MiB);
    const head = await plain.send(new HeadObjectCommand({ Bucket: bucket, Key: 'big/huge.bin' }));
    expect(head.ContentLength).toBe(size);
    expect(head.ETag).toMatch(/-13"$/);
    expect(head.ContentType).toBe('application/x-huge');
    expect(head.TagCount).toBe(1);
    const got = await plain.send(new GetObjectCommand({ Bucket: bucket, Key: 'big/huge.bin' }));
    const check = createHash('sha256');
    for await (const c of nodeBody(got.Body)) check.update(c as Buffer);
    expect(check.digest('hex')).toBe(sha.digest('hex'));
  });

  it('a content stream failing in the middle of a multipart upload: the error propagates, nothing is left', async () => {
    const d = dest('broken', {}, { partSize: 5 * MiB, multipartThreshold: 5 * MiB });
    const failure = new Error('content failed its check');
    async function* broken(): AsyncGenerator<Uint8Array> {
      yield seedBytes(1, 7 * MiB);
      throw failure;
    }
    try {
      const err = await d.write(file('/x.bin', 20 * MiB), broken()).catch((e: unknown) => e);
      expect(err).toBe(failure);
      const ok = await d.write(file('/y.bin', 3), once(new Uint8Array([1, 2, 3])));
      expect(ok.ok).toBe(true);
    } finally {
      await d.close();
    }
    expect(await keys('broken/')).toEqual(['broken/y.bin']);
    const uploads = await plain.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'broken/' }));
    expect(uploads.Uploads ?? []).toEqual([]);
  });

  it('finish() aborts the incomplete uploads under its prefix older than abort_uploads_after, no others', async () => {
    for (const key of ['stale/a.bin', 'stale/deep/b.bin', 'stale-other/c.bin', 'elsewhere/d.bin']) {
      await startIncompleteUpload(plain, bucket, key, 1000);
    }
    const finishWith = async (extra: Partial<ConstructorParameters<typeof S3Destination>[0]>) => {
      const d = dest('stale', {}, extra);
      try {
        await d.finish();
        return d.staleUploads;
      } finally {
        await d.close();
      }
    };
    // The default (24 h) and `never` keep uploads started a moment ago.
    expect(await finishWith({})).toEqual({ count: 0, bytes: 0 });
    expect(await finishWith({ abortUploadsAfterMs: undefined })).toEqual({ count: 0, bytes: 0 });
    expect(await finishWith({ abortUploadsAfterMs: 60_000 })).toEqual({ count: 0, bytes: 0 });
    expect(await incompleteUploadKeys(plain, bucket, 'stale')).toHaveLength(3);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await finishWith({ abortUploadsAfterMs: 0 })).toEqual({ count: 2, bytes: 2000 });
    expect(await incompleteUploadKeys(plain, bucket, 'stale')).toEqual(['stale-other/c.bin']);
    expect(await incompleteUploadKeys(plain, bucket, 'elsewhere/')).toEqual(['elsewhere/d.bin']);
  });

  it('abort_uploads_after: a duration, 0s or never; anything else is refused by name', async () => {
    expect(s3DestinationConnector.options.find((o) => o.name === 'abort_uploads_after')?.default).toBe('24h');
    expect(parseAbortUploadsAfter('24h')).toBe(86_400_000);
    expect(parseAbortUploadsAfter('0s')).toBe(0);
    expect(parseAbortUploadsAfter('90m')).toBe(5_400_000);
    expect(parseAbortUploadsAfter('7d')).toBe(7 * 86_400_000);
    expect(parseAbortUploadsAfter('never')).toBeUndefined();
    for (const bad of ['', '24', '1w', '-1h', '1.5h', 'soon']) {
      expect(() => parseAbortUploadsAfter(bad)).toThrow(/^option abort_uploads_after: expected a duration/);
    }
    const err = await createS3Destination(
      s3TestParams(env, bucket, 'x', { abort_uploads_after: '1y' }),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectorError);
    expect((err as ConnectorError).code).toBe('invalid');
  });

  it('directories create nothing; a folder marker is restored as its object; symlinks are refused', async () => {
    const d = dest('dirs');
    try {
      const root = {
        path: '/',
        type: 'directory' as const,
        size: 0,
        mtime: { sec: 1, nsec: 0 },
        metadata: { 's3.prefix': 'old/' },
      };
      expect((await d.write(root)).ok).toBe(true);
      expect((await d.write({ ...root, path: '/sub', metadata: { 's3.prefix': 'old/sub/' } })).ok).toBe(true);
      expect((await d.write(file('/sub/%', 0, { 's3.key': 'old/sub/' }), once(new Uint8Array(0)))).ok).toBe(
        true,
      );
      const link = await d.write({
        path: '/l',
        type: 'symlink',
        size: 0,
        mtime: { sec: 1, nsec: 0 },
        linkTarget: 'x',
        metadata: {},
      });
      expect(link.ok).toBe(false);
      expect(link.error).toContain('symlink');
    } finally {
      await d.close();
    }
    expect(await keys('dirs/')).toEqual(['dirs/sub/']);
  });

  it('storage_class is sent only when asked', async () => {
    const d = dest('classy', { storage_class: 'NO_SUCH_CLASS' });
    try {
      const r = await d.write(file('/a', 1), once(new Uint8Array([1])));
      expect(r.ok).toBe(false);
      // RGW refuses a storage class it has no placement for: proof that the header was sent.
      expect(r.error).toMatch(/InvalidStorageClass|InvalidArgument/);
    } finally {
      await d.close();
    }
    const plainDest = dest('classy');
    try {
      expect((await plainDest.write(file('/a', 1), once(new Uint8Array([1])))).ok).toBe(true);
    } finally {
      await plainDest.close();
    }
  });

  it('a wrong secret and an unreachable endpoint fail at creation with one line', async () => {
    const bad = await createS3Destination(
      s3TestParams(env, bucket, 'x', { secret_access_key: 'wrong' }),
    ).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ConnectorError);
    expect((bad as ConnectorError).code).toBe('auth');
    expect((bad as ConnectorError).message).toMatch(
      /^S3 ListObjectsV2 on bucket "[^"]+": credentials refused/,
    );
    const p = s3TestParams(env, bucket, 'x');
    const far = await createS3Destination({
      ...p,
      location: p.location.replace(env.host, '127.0.0.1:1'),
    }).catch((e: unknown) => e);
    expect(far).toBeInstanceOf(ConnectorError);
    expect((far as ConnectorError).code).toBe('unavailable');
    expect((far as ConnectorError).message).not.toMatch(/\n/);
  }, 60_000);
});
