/**
 * S3AsOfStorage and the Object Lock upkeep on RGW: each key read as its version current at an
 * instant (overwritten, deleted, not yet written), read-only; hidden versions kept while retained
 * and within the grace period, reclaimed after.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { HeadObjectCommand, ListObjectVersionsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { ResourceInfo, Storage } from '@kloset/connector-contract';
import { deterministicBytes, testResourceId } from '@kloset/connector-contract/testing';
import { s3TestBuckets, s3TestParams } from '@kloset/s3-common/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createS3Storage, s3StorageConnector } from '../src/index.ts';

const s3 = s3TestBuckets();
const { env, client: plain } = s3;

afterAll(async () => {
  await s3.dispose();
});

async function listed(storage: Storage, kind: 'packfile' | 'snapshot'): Promise<ResourceInfo[]> {
  const out: ResourceInfo[] = [];
  for await (const r of storage.list(kind)) out.push(r);
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

/** Waits past the millisecond of now, and returns it: versions written after are newer. */
async function instant(): Promise<number> {
  await sleep(50);
  const t = Date.now();
  await sleep(50);
  return t;
}

describe('the S3 storage as of an instant', () => {
  it('reads every key as its version current then; writes are refused', async () => {
    const bucket = s3.name('as-of');
    const params = s3TestParams(env, bucket, 'st', { object_lock: 'governance', retention: '30s' });
    const live = await createS3Storage(params);
    const [a, b] = [testResourceId(1), testResourceId(2)];
    const v1 = deterministicBytes(1, 1000);
    const v2 = deterministicBytes(2, 1500);
    try {
      const beforeCreate = await instant();
      await live.create(new Uint8Array([9]));
      await live.put('packfile', a, v1);
      const t1 = await instant();
      await live.put('snapshot', b, deterministicBytes(3, 10));
      const t2 = await instant();
      await live.delete('snapshot', b);
      // An overwrite by someone else (the store never rewrites a packfile).
      await plain.send(
        new PutObjectCommand({ Bucket: bucket, Key: `st/packfiles/${a.slice(0, 2)}/${a}`, Body: v2 }),
      );
      await live.delete('packfile', a);

      const at1 = await createS3Storage({ ...params, asOf: t1 });
      const at2 = await createS3Storage({ ...params, asOf: t2 });
      const now = await createS3Storage({ ...params, asOf: Date.now() + 1000 });
      const early = await createS3Storage({ ...params, asOf: beforeCreate });
      try {
        expect(at1.mode).toBe('read-only');
        expect(await at1.open()).toEqual(new Uint8Array([9]));
        expect((await listed(at1, 'packfile')).map((r) => [r.id, r.size])).toEqual([[a, 1000]]);
        expect(await listed(at1, 'snapshot')).toEqual([]);
        expect(await at1.get('packfile', a)).toEqual(v1);
        expect(await at1.get('packfile', a, { offset: 100, length: 50 })).toEqual(v1.subarray(100, 150));
        await expect(at1.get('packfile', a, { offset: 990, length: 20 })).rejects.toMatchObject({
          code: 'invalid',
        });
        await expect(at1.get('snapshot', b)).rejects.toMatchObject({ code: 'not_found' });
        expect((await listed(at2, 'snapshot')).map((r) => r.id)).toEqual([b]);
        expect(await at2.get('packfile', a)).toEqual(v1);
        // Now: the packfile and the snapshot are deleted.
        expect(await listed(now, 'packfile')).toEqual([]);
        await expect(now.get('packfile', a)).rejects.toMatchObject({ code: 'not_found' });
        await expect(early.open()).rejects.toThrow(
          /no kloset store at .* as of .*: no version of "st\/config"/,
        );
        await expect(at1.put('packfile', a, v1)).rejects.toMatchObject({ code: 'permission' });
        await expect(at1.delete('packfile', a)).rejects.toMatchObject({ code: 'permission' });
      } finally {
        for (const s of [at1, at2, now, early]) await s.close();
      }
    } finally {
      await live.close();
    }
    expect(s3StorageConnector.asOf).toBe(true);
  });
});

describe('the upkeep of an Object Lock store (removeLeftovers)', () => {
  it('keeps hidden versions while retained or within the grace period, reclaims them after', async () => {
    const bucket = s3.name('upkeep');
    const storage = await createS3Storage(
      s3TestParams(env, bucket, '', { object_lock: 'governance', retention: '3s' }),
    );
    const versions = async () =>
      (await plain.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: 'packfiles/' }))).Versions ??
      [];
    try {
      await storage.create(new Uint8Array([1]));
      const id = testResourceId(5);
      await storage.put('packfile', id, deterministicBytes(5, 2000));
      await storage.delete('packfile', id);
      const retained = await storage.removeLeftovers?.(0);
      expect(retained?.retention).toMatchObject({ reclaimed: 0, kept: 1, keptBytes: 2000 });
      expect(retained?.retention?.keptUntil ?? 0).toBeGreaterThan(Date.now());
      expect(await versions()).toHaveLength(1);
      await sleep(3500);
      // Retention over, but hidden for less than the grace period: left alone. The config in use
      // had less than half its retention left: extended.
      expect((await storage.removeLeftovers?.(60_000))?.retention).toMatchObject({
        reclaimed: 0,
        kept: 0,
        extended: 1,
      });
      expect(await versions()).toHaveLength(1);
      const reclaimed = await storage.removeLeftovers?.(0);
      expect(reclaimed?.retention).toMatchObject({
        reclaimed: 1,
        reclaimedBytes: 2000,
        kept: 0,
        extended: 0,
      });
      expect(await versions()).toHaveLength(0);
      // The lone delete marker goes with the next run.
      await storage.removeLeftovers?.(0);
      const left = await plain.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: 'packfiles/' }));
      expect(left.DeleteMarkers ?? []).toHaveLength(0);
    } finally {
      await storage.close();
    }
  });

  it('retains objects written without the options once half a retention old', async () => {
    const bucket = s3.name('upkeep-late');
    const options = { object_lock: 'governance', retention: '2s' };
    const locked = await createS3Storage(s3TestParams(env, bucket, '', options));
    const plainStore = await createS3Storage(s3TestParams(env, bucket, ''));
    try {
      await locked.create(new Uint8Array([1]));
      const id = testResourceId(6);
      await plainStore.put('state', id, deterministicBytes(6, 100));
      const before = await plain.send(new HeadObjectCommand({ Bucket: bucket, Key: `states/${id}` }));
      expect(before.ObjectLockMode).toBeUndefined();
      await sleep(1100);
      // The state, and the config written at create.
      expect((await locked.removeLeftovers?.(0))?.retention).toMatchObject({ extended: 2 });
      const after = await plain.send(new HeadObjectCommand({ Bucket: bucket, Key: `states/${id}` }));
      expect(after.ObjectLockMode).toBe('GOVERNANCE');
      expect(after.ObjectLockRetainUntilDate?.getTime() ?? 0).toBeGreaterThan(Date.now() + 1000);
    } finally {
      await locked.close();
      await plainStore.close();
    }
  });
});
