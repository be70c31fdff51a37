/** Object Lock stores on RGW: options, retained writes, bucket creation, refusal without Object Lock. */
import {
  DeleteObjectCommand,
  GetObjectLockConfigurationCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
} from '@aws-sdk/client-s3';
import { deterministicBytes, testResourceId } from '@kloset/connector-contract/testing';
import { resolveS3Settings } from '@kloset/s3-common';
import { s3TestBuckets, s3TestParams } from '@kloset/s3-common/testing';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createS3Storage,
  lockPolicyOf,
  parseRetention,
  S3_STORAGE_OPTIONS,
  S3Storage,
} from '../src/index.ts';

const s3 = s3TestBuckets();
const { env, client: plain } = s3;
const LOCK = { object_lock: 'governance', retention: '30s' };

afterAll(async () => {
  await s3.dispose();
});

function head(bucket: string, key: string): Promise<HeadObjectCommandOutput> {
  return plain.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
}

describe('object_lock and retention options', () => {
  it('parse durations and modes, and go together', () => {
    expect(parseRetention('30d')).toBe(30 * 86_400_000);
    expect(parseRetention('1d12h')).toBe(36 * 3_600_000);
    expect(parseRetention('0s')).toBeUndefined();
    expect(parseRetention('30')).toBeUndefined();
    expect(lockPolicyOf({})).toBeUndefined();
    expect(lockPolicyOf({ object_lock: 'compliance', retention: '12h' })).toEqual({
      mode: 'COMPLIANCE',
      retentionMs: 12 * 3_600_000,
    });
    expect(() => lockPolicyOf({ object_lock: 'governance' })).toThrow(/go together/);
    expect(() => lockPolicyOf({ retention: '1d' })).toThrow(/go together/);
    expect(() => lockPolicyOf({ object_lock: 'governance', retention: '1 day' })).toThrow(
      /retention: "1 day" is not a duration/,
    );
  });
});

describe('an Object Lock store on RGW', () => {
  it('create makes the bucket with Object Lock; every object but locks is written retained', async () => {
    await s3.ready();
    const bucket = s3.name('lock-create');
    const storage = await createS3Storage(s3TestParams(env, bucket, 'st', LOCK));
    const started = Date.now();
    try {
      await storage.create(new Uint8Array([1, 2, 3]));
      const conf = await plain.send(new GetObjectLockConfigurationCommand({ Bucket: bucket }));
      expect(conf.ObjectLockConfiguration?.ObjectLockEnabled).toBe('Enabled');
      const id = testResourceId(1);
      for (const kind of ['packfile', 'state', 'snapshot', 'lock'] as const) {
        await storage.put(kind, id, deterministicBytes(2, 100));
      }
      const keys = {
        config: 'st/config',
        packfile: `st/packfiles/${id.slice(0, 2)}/${id}`,
        state: `st/states/${id}`,
        snapshot: `st/snapshots/${id}`,
      };
      for (const [what, key] of Object.entries(keys)) {
        const h = await head(bucket, key);
        expect(h.ObjectLockMode, what).toBe('GOVERNANCE');
        expect(h.ObjectLockRetainUntilDate?.getTime() ?? 0, what).toBeGreaterThanOrEqual(started + 29_000);
      }
      const lock = await head(bucket, `st/locks/${id}`);
      expect(lock.ObjectLockMode).toBeUndefined();
      // A retained version cannot be deleted by its version id (no bypass), a lock can.
      const packVersion = (await head(bucket, keys.packfile)).VersionId;
      const refused = await plain
        .send(new DeleteObjectCommand({ Bucket: bucket, Key: keys.packfile, VersionId: packVersion }))
        .then(
          () => undefined,
          (e: unknown) => e as { name?: string; message?: string },
        );
      expect(refused?.name).toBe('AccessDenied');
      await storage.delete('lock', id);
      // Deleting without a version id hides the packfile behind a delete marker; its version stays.
      await storage.delete('packfile', id);
      await expect(storage.get('packfile', id)).rejects.toMatchObject({ code: 'not_found' });
      const kept = await plain.send(
        new HeadObjectCommand({ Bucket: bucket, Key: keys.packfile, VersionId: packVersion }),
      );
      expect(kept.ContentLength).toBe(100);
    } finally {
      await storage.close();
    }
  });

  it('a multipart put is retained too', async () => {
    const bucket = s3.name('lock-multipart');
    const params = s3TestParams(env, bucket, '', LOCK);
    const policy = lockPolicyOf(params.options);
    if (policy === undefined) throw new Error('no policy');
    const storage = new S3Storage({
      settings: await resolveS3Settings(params, S3_STORAGE_OPTIONS),
      lock: policy,
      multipartThreshold: 1024,
      partSize: 5 * 1024 * 1024,
    });
    try {
      await storage.create(new Uint8Array([1]));
      const id = testResourceId(2);
      const body = deterministicBytes(3, 6 * 1024 * 1024);
      await storage.put('packfile', id, body);
      const h = await head(bucket, `packfiles/${id.slice(0, 2)}/${id}`);
      expect(h.ObjectLockMode).toBe('GOVERNANCE');
      expect(h.ContentLength).toBe(body.length);
    } finally {
      await storage.close();
    }
  });

  it('refuses the options, in one line naming the bucket, on a bucket without Object Lock', async () => {
    const bucket = await s3.create('lock-plain');
    const storage = await createS3Storage(s3TestParams(env, bucket, 'st', LOCK));
    try {
      const refusal = new RegExp(`^bucket "${bucket}" has no Object Lock: [^\n]+$`);
      await expect(storage.create(new Uint8Array([1]))).rejects.toThrow(refusal);
      await expect(storage.put('packfile', testResourceId(3), new Uint8Array([1]))).rejects.toThrow(refusal);
    } finally {
      await storage.close();
    }
  });
});
