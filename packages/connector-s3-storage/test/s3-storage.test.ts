/** S3Storage beyond the conformance suite: layout, shared buckets, bucket creation, faults. */
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { ConnectorError, RetryStorage, validateOptions } from '@kloset/connector-contract';
import { deterministicBytes, testResourceId } from '@kloset/connector-contract/testing';
import {
  everyNth,
  incompleteUploadKeys,
  s3TestBuckets,
  s3TestParams,
  startFaultProxy,
  startIncompleteUpload,
  uniqueBucketName,
} from '@kloset/s3-common/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Storage, S3_STORAGE_OPTIONS, StoreLayout, s3StorageConnector } from '../src/index.ts';

const s3 = s3TestBuckets();
const { env, client: plain } = s3;
let bucket = '';

beforeAll(async () => {
  bucket = await s3.create('storage');
});
afterAll(async () => {
  await s3.dispose();
});

async function failure(p: Promise<unknown>): Promise<ConnectorError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the call should fail').toBeInstanceOf(ConnectorError);
  return err as ConnectorError;
}

async function keysUnder(b: string, prefix: string): Promise<string[]> {
  const out = await plain.send(new ListObjectsV2Command({ Bucket: b, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key ?? '').sort();
}

describe('StoreLayout', () => {
  it('shards packfiles and recognises its own keys only', () => {
    const l = new StoreLayout('p/');
    const id = testResourceId(1);
    expect(l.configKey).toBe('p/config');
    expect(l.key('packfile', id)).toBe(`p/packfiles/${id.slice(0, 2)}/${id}`);
    expect(l.key('state', id)).toBe(`p/states/${id}`);
    expect(l.key('snapshot', id)).toBe(`p/snapshots/${id}`);
    expect(l.key('lock', id)).toBe(`p/locks/${id}`);
    expect(l.idOf('packfile', l.key('packfile', id))).toBe(id);
    expect(l.idOf('packfile', `p/packfiles/zz/${id}`)).toBeUndefined();
    expect(l.idOf('state', `p/states/${id}.tmp`)).toBeUndefined();
    expect(l.idOf('state', l.key('snapshot', id))).toBeUndefined();
    expect(new StoreLayout('').configKey).toBe('config');
  });
});

describe('S3 storage on RGW', () => {
  it('the manifest part declares the s3 protocol and the writer options', () => {
    expect(s3StorageConnector.role).toBe('storage');
    expect(s3StorageConnector.protocols).toEqual(['s3']);
    expect(s3StorageConnector.options.map((o) => o.name)).toContain('storage_class');
    expect(() => validateOptions(S3_STORAGE_OPTIONS, { bogus: '1' })).toThrow(/bogus/);
  });

  it('keeps the store under its prefix, with the documented keys; stores can share a bucket', async () => {
    const a = await createS3Storage(s3TestParams(env, bucket, 'shared/a'));
    const b = await createS3Storage(s3TestParams(env, bucket, 'shared/b'));
    try {
      await a.create(new Uint8Array([1]));
      await b.create(new Uint8Array([2]));
      const id = testResourceId(7);
      await a.put('packfile', id, deterministicBytes(1, 10));
      await a.put('lock', id, deterministicBytes(2, 10));
      await b.put('snapshot', id, deterministicBytes(3, 10));
      expect(await keysUnder(bucket, 'shared/a/')).toEqual(
        ['shared/a/config', `shared/a/locks/${id}`, `shared/a/packfiles/${id.slice(0, 2)}/${id}`].sort(),
      );
      expect(await keysUnder(bucket, 'shared/b/')).toEqual(['shared/b/config', `shared/b/snapshots/${id}`]);
      expect([...(await a.open())]).toEqual([1]);
      expect([...(await b.open())]).toEqual([2]);
      const listed: string[] = [];
      for await (const r of b.list('packfile')) listed.push(r.id);
      expect(listed).toEqual([]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("removeLeftovers aborts the store's own incomplete uploads old enough, nothing else in the bucket", async () => {
    const storage = await createS3Storage(s3TestParams(env, bucket, 'left/a'));
    try {
      await storage.create(new Uint8Array([1]));
      const id = testResourceId(1);
      await storage.put('packfile', id, deterministicBytes(1, 100));
      const layout = new StoreLayout('left/a/');
      const ours = [
        layout.key('packfile', id),
        layout.key('state', id),
        layout.key('lock', id),
        layout.configKey,
      ];
      for (const [i, key] of ours.entries()) await startIncompleteUpload(plain, bucket, key, 1000 * (i + 1));
      // Not this store's: another store sharing the bucket, a stray key under the prefix, the root.
      const others = ['left/ab/packfiles/00/x', 'left/a/notes.txt', `left/b/states/${id}`, `states/${id}`];
      for (const key of others) await startIncompleteUpload(plain, bucket, key, 7);
      expect(await storage.removeLeftovers?.(3_600_000)).toEqual({ count: 0, bytes: 0 });
      expect(await incompleteUploadKeys(plain, bucket)).toHaveLength(8);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await storage.removeLeftovers?.(0)).toEqual({ count: 4, bytes: 10_000 });
      expect(await incompleteUploadKeys(plain, bucket)).toEqual([...others].sort());
      expect(Buffer.from(await storage.get('packfile', id))).toEqual(Buffer.from(deterministicBytes(1, 100)));
    } finally {
      await storage.close();
    }
  });

  it('create() makes a missing bucket; open() of a missing bucket names it', async () => {
    const fresh = s3.name('storage-new');
    const missing = await createS3Storage(s3TestParams(env, uniqueBucketName('storage-missing'), 'x'));
    try {
      const err = await failure(missing.open());
      expect(err.code).toBe('not_found');
      expect(err.message).toContain('does not exist');
      expect(err.message).toContain('bucket "kloset-storage-missing-');
      expect(err.message).not.toMatch(/\n/);
    } finally {
      await missing.close();
    }
    const s = await createS3Storage(s3TestParams(env, fresh, 'store'));
    try {
      const empty = await failure(s.open());
      expect(empty.code).toBe('not_found');
      await s.create(new Uint8Array([9, 9]));
      expect([...(await s.open())]).toEqual([9, 9]);
      expect(await keysUnder(fresh, '')).toEqual(['store/config']);
    } finally {
      await s.close();
    }
  });

  it('applies storage_class to what it writes', async () => {
    const s = await createS3Storage(s3TestParams(env, bucket, 'classy', { storage_class: 'STANDARD' }));
    try {
      await s.create(new Uint8Array([1]));
      const id = testResourceId(3);
      await s.put('state', id, new Uint8Array([5]));
      const head = await plain.send(new HeadObjectCommand({ Bucket: bucket, Key: `classy/states/${id}` }));
      expect(head.StorageClass ?? 'STANDARD').toBe('STANDARD');
      await expect(
        createS3Storage(s3TestParams(env, bucket, 'classy', { storage_class: 'not a class' })),
      ).rejects.toThrow(/storage_class/);
    } finally {
      await s.close();
    }
  });

  it('a wrong secret fails at once with one auth line; an unreachable endpoint with unavailable', async () => {
    const bad = await createS3Storage(s3TestParams(env, bucket, 'x', { secret_access_key: 'nope' }));
    try {
      const err = await failure(bad.open());
      expect(err.code).toBe('auth');
      expect(err.message).toMatch(/^S3 GetObject on bucket "[^"]+" key "x\/config": credentials refused/);
      expect(err.message).not.toMatch(/\n/);
      const refused = await failure(bad.create(new Uint8Array([1])));
      expect(refused.code).toBe('auth');
      expect(refused.message).toContain('SignatureDoesNotMatch');
    } finally {
      await bad.close();
    }
    const p = s3TestParams(env, bucket, 'x');
    const far = await createS3Storage({ ...p, location: p.location.replace(env.host, '127.0.0.1:1') });
    try {
      const err = await failure(far.open());
      expect(err.code).toBe('unavailable');
      expect(err.message).toContain('cannot reach http://127.0.0.1:1');
    } finally {
      await far.close();
    }
  });

  it('reports transient failures without retrying; RetryStorage gets through 503s and resets', async () => {
    const faults = everyNth(2, ['slowdown', 'reset', 'cut-body']);
    const proxy = await startFaultProxy(env.endpoint, (n, method, path) =>
      n === 0 ? 'slowdown' : faults(n, method, path),
    );
    const p = s3TestParams(env, bucket, 'flaky');
    const inner = await createS3Storage({ ...p, location: p.location.replace(env.host, proxy.host) });
    const storage = new RetryStorage(inner, { baseDelayMs: 5, maxDelayMs: 50 });
    try {
      const first = await failure(inner.list('state')[Symbol.asyncIterator]().next());
      expect(first.retryable, first.message).toBe(true);
      await storage.create(new Uint8Array([4, 2]));
      const ids = [1, 2, 3, 4, 5, 6].map((i) => testResourceId(40 + i));
      for (const [i, id] of ids.entries())
        await storage.put('packfile', id, deterministicBytes(i, 200_000 + i));
      for (const [i, id] of ids.entries()) {
        const got = await storage.get('packfile', id);
        expect(Buffer.compare(got, deterministicBytes(i, 200_000 + i)), `packfile ${i}`).toBe(0);
        const part = await storage.get('packfile', id, { offset: 1000, length: 5000 });
        expect(Buffer.compare(part, deterministicBytes(i, 200_000 + i).subarray(1000, 6000))).toBe(0);
      }
      expect([...(await storage.open())]).toEqual([4, 2]);
      expect(proxy.counts.slowdown + proxy.counts.reset + proxy.counts['cut-body']).toBeGreaterThan(5);
      const direct = await plain.send(new GetObjectCommand({ Bucket: bucket, Key: 'flaky/config' }));
      expect([...(await direct.Body!.transformToByteArray())]).toEqual([4, 2]);
    } finally {
      await storage.close();
      await proxy.close();
    }
  });
});
