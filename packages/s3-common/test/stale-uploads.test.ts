/** abortStaleUploads against the RGW test server: by prefix, key filter and age. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { abortStaleUploads, createS3Connection, readS3Settings, S3_COMMON_OPTIONS } from '../src/index.ts';
import {
  incompleteUploadKeys,
  s3TestBuckets,
  s3TestParams,
  startIncompleteUpload,
} from '../src/testing/index.ts';

const s3 = s3TestBuckets();
const { env, client: plain } = s3;
let bucket = '';

beforeAll(async () => {
  bucket = await s3.create('stale-uploads');
});
afterAll(async () => {
  await s3.dispose();
});

function connection() {
  return createS3Connection(readS3Settings(s3TestParams(env, bucket), S3_COMMON_OPTIONS));
}

describe('abortStaleUploads', () => {
  it('aborts the uploads under the prefix old enough, counts their parts, keeps the others', async () => {
    await startIncompleteUpload(plain, bucket, 'a/one', 1000);
    await startIncompleteUpload(plain, bucket, 'a/one', 2000); // a second upload of the same key
    await startIncompleteUpload(plain, bucket, 'a/deep/two %+é', 3000);
    await startIncompleteUpload(plain, bucket, 'a/skip-me', 4000);
    await startIncompleteUpload(plain, bucket, 'ab/outside', 5000);
    await startIncompleteUpload(plain, bucket, 'b/outside', 6000);
    const conn = connection();
    try {
      const base = { connection: conn, endpoint: env.endpoint, bucket, prefix: 'a/' };
      const keyFilter = (key: string) => !key.endsWith('skip-me');
      // Initiated a moment ago: younger than a minute.
      expect(await abortStaleUploads({ ...base, olderThanMs: 60_000, keyFilter })).toEqual({
        count: 0,
        bytes: 0,
      });
      expect(await incompleteUploadKeys(plain, bucket)).toHaveLength(6);
      // A clock a minute ahead: they are a minute old.
      const later = () => Date.now() + 60_000;
      expect(await abortStaleUploads({ ...base, olderThanMs: 60_000, keyFilter, now: later })).toEqual({
        count: 3,
        bytes: 6000,
      });
      expect(await incompleteUploadKeys(plain, bucket)).toEqual(['a/skip-me', 'ab/outside', 'b/outside']);
      expect(await abortStaleUploads({ ...base, olderThanMs: 0, now: later })).toEqual({
        count: 1,
        bytes: 4000,
      });
      expect(await abortStaleUploads({ ...base, prefix: '', olderThanMs: 0, now: later })).toEqual({
        count: 2,
        bytes: 11_000,
      });
      expect(await incompleteUploadKeys(plain, bucket)).toEqual([]);
    } finally {
      conn.destroy();
    }
  });

  it('pages through the listing, uploads of one key on two pages included', async () => {
    const keys = ['many/a', 'many/b', 'many/b', 'many/b', 'many/c', 'many/d', 'many/e'];
    for (const k of keys) await startIncompleteUpload(plain, bucket, k, 1);
    const conn = connection();
    try {
      const request = {
        connection: conn,
        endpoint: env.endpoint,
        bucket,
        prefix: 'many/',
        now: () => Date.now() + 60_000,
        pageSize: 2,
      };
      // Only every other key: the pages of what is kept must go on past it.
      const keyFilter = (key: string) => key === 'many/b' || key === 'many/e';
      expect(await abortStaleUploads({ ...request, olderThanMs: 0, keyFilter })).toEqual({
        count: 4,
        bytes: 4,
      });
      expect(await incompleteUploadKeys(plain, bucket, 'many/')).toEqual(['many/a', 'many/c', 'many/d']);
      expect(await abortStaleUploads({ ...request, olderThanMs: 0 })).toEqual({ count: 3, bytes: 3 });
      expect(await incompleteUploadKeys(plain, bucket, 'many/')).toEqual([]);
    } finally {
      conn.destroy();
    }
  });

  it('a bucket that does not exist fails with one line naming it', async () => {
    const conn = connection();
    try {
      const err = await abortStaleUploads({
        connection: conn,
        endpoint: env.endpoint,
        bucket: 'kloset-no-such-bucket-x1',
        prefix: '',
        olderThanMs: 0,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(/ListMultipartUploads.*kloset-no-such-bucket-x1/);
      expect((err as Error).message).not.toContain('\n');
    } finally {
      conn.destroy();
    }
  });
});
