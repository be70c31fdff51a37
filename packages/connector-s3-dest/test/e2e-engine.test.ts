/**
 * Through the real engine (@kloset/core): bucket -> backup -> store (in S3, and on local disk) ->
 * restore -> new bucket, compared object by object with an independent client; a second backup of
 * the unchanged bucket issues no GetObject; a sub-path restores relative to itself.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RetryStorage, type Storage } from '@kloset/connector-contract';
import { FsStorage } from '@kloset/connector-fs';
import { S3_SOURCE_OPTIONS, S3Source } from '@kloset/connector-s3-source';
import { createS3Storage } from '@kloset/connector-s3-storage';
import { backup, Repository, restore } from '@kloset/core';
import { readS3Settings } from '@kloset/s3-common';
import {
  type FaultProxy,
  s3TestBuckets,
  s3TestParams,
  seedBytes,
  seedObjects,
  startFaultProxy,
  trickyObjects,
  viewObjects,
} from '@kloset/s3-common/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Destination } from '../src/index.ts';

const s3 = s3TestBuckets();
const { env, client: plain } = s3;
const MiB = 1024 * 1024;
const dirs: string[] = [];
let src = '';
let proxy: FaultProxy | undefined;
/** GetObject requests seen by the proxy in front of the source bucket. */
const gets: string[] = [];

beforeAll(async () => {
  src = await s3.create('e2e-src');
  // `data/` and the restore prefixes below have the same length: the 1,024-byte key still fits.
  await seedObjects(plain, src, 'data/', [
    ...trickyObjects(1024 - 'data/'.length),
    {
      key: 'big/multipart.bin',
      body: seedBytes(7, 20 * MiB + 1),
      multipartPartSize: 5 * MiB,
      tags: { t: '1' },
    },
  ]);
  proxy = await startFaultProxy(env.endpoint, (_n, method, path) => {
    if (method === 'GET' && !/[?&](list-type|tagging)/.test(path)) gets.push(path);
    return 'pass';
  });
});
afterAll(async () => {
  await proxy?.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
  await s3.dispose();
});

function source(): S3Source {
  const p = s3TestParams(env, src, 'data');
  const host = proxy?.host ?? env.host;
  return new S3Source({
    settings: readS3Settings({ ...p, location: p.location.replace(env.host, host) }, S3_SOURCE_OPTIONS),
  });
}

async function tempDir(what: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), `kloset-e2e-${what}-`));
  dirs.push(d);
  return d;
}

async function roundTrip(storage: Storage): Promise<void> {
  const repo = await Repository.create(new RetryStorage(storage), {
    passphrase: 'e2e',
    cacheDir: await tempDir('cache'),
  });
  try {
    const s1 = source();
    const first = await backup(repo, s1, { name: 'first' }).finally(() => s1.close());
    expect(first.errors).toEqual([]);
    const getsBefore = gets.length;
    const s2 = source();
    const second = await backup(repo, s2, { name: 'second' }).finally(() => s2.close());
    expect(gets.length - getsBefore, 'GetObject calls of a backup of the unchanged bucket').toBe(0);
    expect(second.filesRead).toBe(0);

    const dst = s3.name('e2e-dst');
    const whole = await createS3Destination(s3TestParams(env, dst, 'rest'));
    const restored = await restore(repo, second.id, whole).finally(() => whole.close());
    expect(restored.failures).toEqual([]);
    const before = await viewObjects(plain, src, 'data/');
    const after = await viewObjects(plain, dst, 'rest/');
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [key, view] of before) expect(after.get(key), `object ${JSON.stringify(key)}`).toEqual(view);

    const sub = await createS3Destination(s3TestParams(env, dst, 'part'));
    const part = await restore(repo, second.id, sub, { path: '/a' }).finally(() => sub.close());
    expect(part.failures).toEqual([]);
    const subBefore = await viewObjects(plain, src, 'data/a/');
    const subAfter = await viewObjects(plain, dst, 'part/');
    expect([...subAfter.keys()].sort()).toEqual([...subBefore.keys()].sort());
    for (const [key, view] of subBefore)
      expect(subAfter.get(key), `object ${JSON.stringify(key)}`).toEqual(view);
  } finally {
    await repo.close();
  }
}

describe('S3 through the engine on RGW', () => {
  it('bucket -> store in S3 -> new bucket', async () => {
    const store = await s3.create('e2e-store');
    await roundTrip(await createS3Storage(s3TestParams(env, store, 'repo')));
  }, 300_000);

  it('bucket -> local store -> new bucket', async () => {
    await roundTrip(new FsStorage(join(await tempDir('store'), 'repo')));
  }, 300_000);
});
