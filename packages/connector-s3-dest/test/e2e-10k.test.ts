/**
 * A 10,000-object bucket through the engine on RGW: backed up into a local store (requests counted
 * at a proxy: one GetObject per object, which brings its headers, GetObjectTagging for the tagged
 * ones, no HeadObject), a second backup of the unchanged bucket (no GetObject, no HeadObject, no
 * tagging;
 * its wall time printed next to a plain paginated listing of the same bucket), then the second
 * snapshot restored into a new bucket and compared: every key, size and ETag (MD5 of the body:
 * all are single PUTs) from listings, and one folder of 200 objects in full (body, headers, user
 * metadata, tags) with an independent client.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { RetryStorage } from '@kloset/connector-contract';
import { FsStorage } from '@kloset/connector-fs';
import { S3_SOURCE_OPTIONS, S3Source } from '@kloset/connector-s3-source';
import { backup, Repository, restore } from '@kloset/core';
import { readS3Settings } from '@kloset/s3-common';
import {
  type FaultProxy,
  listPages,
  type SeedObject,
  s3TestBuckets,
  s3TestParams,
  seedBytes,
  seedObjects,
  startFaultProxy,
  viewObjects,
} from '@kloset/s3-common/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Destination } from '../src/index.ts';

const N = 10_000;
const FOLDERS = 50;
const s3 = s3TestBuckets();
const { env, client: plain } = s3;
let dir = '';
let src = '';
let proxy: FaultProxy | undefined;
/** Requests seen by the proxy in front of the source bucket, by operation. */
const seen = { list: 0, head: 0, get: 0, tagging: 0, other: 0 };

function say(line: string): void {
  process.stderr.write(`e2e-10k: ${line}\n`);
}

async function timed<T>(what: string, f: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await f();
  const ms = performance.now() - t0;
  say(`${what}: ${(ms / 1000).toFixed(2)} s`);
  return { value, ms };
}

/** Object i: tiny body; every 100th with headers, user metadata and tags. */
function object(i: number): SeedObject {
  const key = `f${String(i % FOLDERS).padStart(2, '0')}/o${String(i).padStart(5, '0')}`;
  const body = seedBytes(i, 1 + (i % 64));
  if (i % 100 !== 7) return { key, body };
  return {
    key,
    body,
    contentType: 'application/x-kloset',
    cacheControl: 'max-age=60',
    metadata: { n: String(i) },
    tags: { every: 'hundred', i: String(i) },
  };
}

/** Every key under `prefix` (relative to it) with its size and ETag, and the listing's pages. */
async function listing(
  client: S3Client,
  bucket: string,
  prefix: string,
): Promise<{ objects: Map<string, string>; pages: number }> {
  const objects = new Map<string, string>();
  let pages = 0;
  for await (const page of listPages(client, bucket, prefix)) {
    pages++;
    for (const o of page) objects.set(o.key.slice(prefix.length), `${o.size} ${o.etag}`);
  }
  return { objects, pages };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kloset-e2e-10k-'));
  src = await s3.create('e2e-10k-src');
  const objects = Array.from({ length: N }, (_, i) => object(i));
  await timed(`seed ${N} objects (PutObject, 32 in flight)`, () =>
    seedObjects(plain, src, 'data/', objects, 32),
  );
  proxy = await startFaultProxy(env.endpoint, (_n, method, path) => {
    if (method === 'HEAD') seen.head++;
    else if (method === 'GET' && /[?&]list-type=2/.test(path)) seen.list++;
    else if (method === 'GET' && /[?&]tagging/.test(path)) seen.tagging++;
    else if (method === 'GET') seen.get++;
    else seen.other++;
    return 'pass';
  });
}, 180_000);

afterAll(async () => {
  await proxy?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  await s3.dispose();
});

/** The source bucket through the counting proxy (both backups: the origin names the proxy). */
function source(): S3Source {
  const p = s3TestParams(env, src, 'data');
  const location = p.location.replace(env.host, proxy!.host);
  return new S3Source({ settings: readS3Settings({ ...p, location }, S3_SOURCE_OPTIONS) });
}

function requestsSince(before: typeof seen): typeof seen {
  return {
    list: seen.list - before.list,
    head: seen.head - before.head,
    get: seen.get - before.get,
    tagging: seen.tagging - before.tagging,
    other: seen.other - before.other,
  };
}

describe('a 10,000-object bucket on RGW', () => {
  it('-> local store -> new bucket; an unchanged re-backup lists and nothing else', async () => {
    const repo = await Repository.create(new RetryStorage(new FsStorage(join(dir, 'store'))), {
      passphrase: '10k',
      kdf: { memoryKiB: 1024, passes: 1 },
      allowWeakKdf: true,
      cacheDir: join(dir, 'cache'),
    });
    try {
      const before1 = { ...seen };
      const s1 = source();
      const first = await timed('first backup (ListObjectsV2 + GetObject each)', () =>
        backup(repo, s1, { name: 'first' }).finally(() => s1.close()),
      );
      expect(first.value.errors).toEqual([]);
      expect(first.value.header.summary).toMatchObject({ files: N, directories: FOLDERS + 1, errors: 0 });
      expect(first.value.filesRead).toBe(N);
      const firstRequests = requestsSince(before1);
      say(`first backup requests: ${JSON.stringify(firstRequests)}`);
      expect(firstRequests).toMatchObject({ head: 0, get: N, tagging: N / 100, other: 0 });

      const before2 = { ...seen };
      const s2 = source();
      const second = await timed('second backup of the unchanged bucket', () =>
        backup(repo, s2, { name: 'second' }).finally(() => s2.close()),
      );
      const requests = requestsSince(before2);
      const list = await timed('plain paginated ListObjectsV2 of the same bucket', () =>
        listing(plain, src, 'data/'),
      );
      say(`second backup requests: ${JSON.stringify(requests)}`);
      say(
        `second backup ${second.ms.toFixed(0)} ms vs plain listing ${list.ms.toFixed(0)} ms ` +
          `(x${(second.ms / list.ms).toFixed(2)})`,
      );
      expect(list.value.objects.size).toBe(N);
      expect(requests).toEqual({ list: list.value.pages, head: 0, get: 0, tagging: 0, other: 0 });
      expect(second.value.filesRead).toBe(0);
      expect(second.value.header.summary).toMatchObject({ files: N, reusedEntries: N, errors: 0 });
      expect(second.value.header.parent).toEqual(first.value.header.id);

      const dst = s3.name('e2e-10k-dst');
      const destination = await createS3Destination(s3TestParams(env, dst, 'back'));
      const restored = await timed('restore of the second snapshot into a new bucket', () =>
        restore(repo, second.value.id, destination).finally(() => destination.close()),
      );
      expect(restored.value.failures).toEqual([]);

      const after = (await listing(plain, dst, 'back/')).objects;
      expect(after.size).toBe(N);
      expect([...after.keys()].sort()).toEqual([...list.value.objects.keys()].sort());
      for (const [key, sizeAndEtag] of list.value.objects) expect(after.get(key), key).toBe(sizeAndEtag);
      const folderBefore = await viewObjects(plain, src, 'data/f07/');
      const folderAfter = await viewObjects(plain, dst, 'back/f07/');
      expect(folderBefore.size).toBe(N / FOLDERS);
      expect(folderAfter).toEqual(folderBefore);
      expect(folderAfter.get('o00007')).toMatchObject({
        contentType: 'application/x-kloset',
        cacheControl: 'max-age=60',
        metadata: { n: '7' },
        tags: { every: 'hundred', i: '7' },
      });
    } finally {
      await repo.close();
    }
  }, 600_000);
});
