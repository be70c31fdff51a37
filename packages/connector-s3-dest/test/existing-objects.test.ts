/**
 * S3Destination over objects that exist before a restore (RGW): stat's sameContent from the MD5
 * ETag recorded at backup, a createOnly multipart upload (checked by a HeadObject first), and a
 * read-only prepare that creates no bucket.
 */
import { createHash } from 'node:crypto';
import { HeadBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { s3TestBuckets, s3TestParams, seedBytes, viewObjects } from '@kloset/s3-common/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Destination } from '../src/index.ts';
import { file } from './entries.ts';

const s3 = s3TestBuckets();
const { env, client: plain } = s3;
const MiB = 1024 * 1024;
let bucket = '';

beforeAll(async () => {
  bucket = await s3.create('dest-existing');
});
afterAll(async () => {
  await s3.dispose();
});

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

async function* body(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

describe('S3Destination over existing objects', () => {
  it('stat says sameContent from the recorded MD5 ETag, and nothing without one', async () => {
    const bytes = seedBytes(7, 1000);
    await plain.send(new PutObjectCommand({ Bucket: bucket, Key: 'md5/a.bin', Body: bytes }));
    const d = await createS3Destination(s3TestParams(env, bucket, 'md5'));
    try {
      const recorded = (etag: string) => file('/a.bin', bytes.length, { 's3.etag': etag });
      expect(await d.stat!(recorded(md5(bytes)))).toEqual({ type: 'file', size: 1000, sameContent: true });
      expect(await d.stat!(recorded(`"${md5(bytes).toUpperCase()}"`))).toMatchObject({ sameContent: true });
      expect(await d.stat!(recorded(md5(seedBytes(8, 1000))))).toMatchObject({ sameContent: false });
      // A multipart ETag, or SSE-KMS, is no MD5 of the body: the engine must compare the bytes.
      expect(await d.stat!(recorded(`${md5(bytes)}-2`))).toEqual({ type: 'file', size: 1000 });
      const kms = file('/a.bin', 1000, { 's3.etag': md5(bytes), 's3.server-side-encryption': 'aws:kms' });
      expect(await d.stat!(kms)).toEqual({ type: 'file', size: 1000 });
      expect(await d.stat!(file('/a.bin', 1000))).toEqual({ type: 'file', size: 1000 });
      expect(await d.stat!(file('/missing.bin', 1))).toBeUndefined();
    } finally {
      await d.close();
    }
  });

  it('createOnly of a multipart upload over an existing object writes nothing', async () => {
    const existing = seedBytes(9, 100);
    await plain.send(new PutObjectCommand({ Bucket: bucket, Key: 'mp/big.bin', Body: existing }));
    const d = await createS3Destination(s3TestParams(env, bucket, 'mp'));
    try {
      const big = seedBytes(10, 9 * MiB); // above the 8 MiB multipart threshold
      const refused = await d.write(file('/big.bin', big.length), body(big), { createOnly: true });
      expect(refused).toMatchObject({ ok: false, exists: true });
      expect(refused.error).toContain(`bucket "${bucket}" key "mp/big.bin" exists: not replaced`);
      const created = await d.write(file('/new.bin', big.length), body(big), { createOnly: true });
      expect(created).toEqual({ path: '/new.bin', ok: true });
      const objects = await viewObjects(plain, bucket, 'mp/');
      expect(objects.get('big.bin')?.size).toBe(100);
      expect(objects.get('new.bin')?.size).toBe(big.length);
      expect(md5(existing)).not.toBe(md5(big));
    } finally {
      await d.close();
    }
  });

  it('readOnly: a missing bucket is not created', async () => {
    const missing = s3.name('dest-readonly');
    const d = await createS3Destination({ ...s3TestParams(env, missing), readOnly: true });
    try {
      expect(await d.stat!(file('/a.bin', 1))).toBeUndefined();
      expect(await d.readExisting!(file('/a.bin', 1), 0, new Uint8Array(1))).toBeUndefined();
    } finally {
      await d.close();
    }
    await expect(plain.send(new HeadBucketCommand({ Bucket: missing }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 404 },
    });
  });
});
