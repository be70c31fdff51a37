/**
 * `restore -all-versions` through the built binary against the S3 test server (Ceph RGW): a
 * bucket with a key written before versioning was enabled (the null version, then a new version),
 * a key with three versions each with its own Content-Type, user metadata and tags, an overwritten
 * key, a deleted key (a delete marker latest), a key deleted then written again (a delete marker
 * in the middle), a plain key and a key `a` next to `a/b`, is backed up with the S3 source's
 * `versions=all` and restored with -all-versions into a new versioned bucket. Both buckets are
 * then compared version by version with the test's own ListObjectVersions, GetObject and
 * GetObjectTagging: the same keys, per key the same number of versions in the same order, the
 * delete markers at the same places, the same bodies, Content-Types, user metadata and tags, new
 * version ids. Also: a folder and a key as PATH, -dry-run writes nothing, the refusals (a bucket
 * without versioning, a directory, a snapshot without versions: exit 1 in one line, nothing
 * written; -at or -overwrite never with it: exit 2), and a key with many versions.
 */
import { join } from 'node:path';
import {
  DeleteObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createTestBucket, s3TestBuckets } from '@kloset/s3-common/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliHome, failsInOneLine, makeCliHome, ok, removeDir } from './helpers/cli-home.ts';
import { jsonLines } from './helpers/run.ts';
import {
  binaryIn,
  bucketOptions,
  emptyVersioned,
  putRev,
  type ReadObject,
  readObject,
} from './helpers/s3-versioned.ts';

const s3 = s3TestBuckets();
const { env, client } = s3;

let home: CliHome;
let bucket: string;
let store: string;
let snapshot: string;
const versionedBuckets: string[] = [];

const k = binaryIn(() => home, 'all-versions');

const creds = (b: string): string[] => bucketOptions(env, b);

const put = (b: string, key: string, body: string, contentType: string, rev: string): Promise<void> =>
  putRev(client, b, key, body, contentType, rev);

const del = (b: string, key: string) => client.send(new DeleteObjectCommand({ Bucket: b, Key: key }));

const enableVersioning = (b: string) =>
  client.send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: 'Enabled' } }));

/** One version or delete marker of a key, as ListObjectVersions lists it. */
interface Listed {
  versionId: string;
  deleteMarker: boolean;
  lastModified: number;
  etag: string | undefined;
}

/**
 * Every key's versions and delete markers, newest first, from the test's own ListObjectVersions
 * (all pages). The SDK gives versions and delete markers in two lists: a key's entries are put
 * back in order by LastModified, which must then tell every two of them apart.
 */
async function history(c: S3Client, b: string): Promise<Map<string, Listed[]>> {
  const out = new Map<string, Listed[]>();
  const add = (key: string, l: Listed) => {
    const list = out.get(key);
    if (list === undefined) out.set(key, [l]);
    else list.push(l);
  };
  let keyMarker: string | undefined;
  let idMarker: string | undefined;
  for (;;) {
    const page = await c.send(
      new ListObjectVersionsCommand({
        Bucket: b,
        ...(keyMarker !== undefined ? { KeyMarker: keyMarker, VersionIdMarker: idMarker } : {}),
      }),
    );
    for (const v of page.Versions ?? []) {
      add(v.Key!, {
        versionId: v.VersionId ?? 'null',
        deleteMarker: false,
        lastModified: v.LastModified!.getTime(),
        etag: v.ETag,
      });
    }
    for (const d of page.DeleteMarkers ?? []) {
      add(d.Key!, {
        versionId: d.VersionId ?? 'null',
        deleteMarker: true,
        lastModified: d.LastModified!.getTime(),
        etag: undefined,
      });
    }
    if (!page.IsTruncated) break;
    keyMarker = page.NextKeyMarker;
    idMarker = page.NextVersionIdMarker;
  }
  for (const [key, list] of out) {
    list.sort((x, y) => y.lastModified - x.lastModified);
    for (let i = 1; i < list.length; i++) {
      expect(list[i]!.lastModified, `two versions of ${b}/${key} in the same millisecond`).not.toBe(
        list[i - 1]!.lastModified,
      );
    }
  }
  return new Map([...out].sort(([x], [y]) => (x < y ? -1 : 1)));
}

/** One version as compared (body, Content-Type, user metadata, tags), `deleted` for a delete marker. */
type Version = 'deleted' | ReadObject;

const readVersion = (b: string, key: string, l: Listed): Promise<Version> =>
  l.deleteMarker ? Promise.resolve('deleted') : readObject(client, b, key, l.versionId);

/** Every version of every key of `b` (under `prefix`, without it), newest first, read in full. */
async function versionsOf(b: string, prefix = ''): Promise<Map<string, Version[]>> {
  const out = new Map<string, Version[]>();
  for (const [key, list] of await history(client, b)) {
    if (!key.startsWith(prefix)) continue;
    const versions: Version[] = [];
    for (const l of list) versions.push(await readVersion(b, key, l));
    out.set(key.slice(prefix.length), versions);
  }
  return out;
}

/** A new bucket (versioned unless `versioned` is false), the destination `@NAME`. */
async function destination(name: string, versioned = true): Promise<string> {
  const b = await s3.create(`allv-${name}`);
  if (versioned) {
    await enableVersioning(b);
    versionedBuckets.push(b);
  }
  ok(await k(['destination', 'add', name, ...creds(b)]));
  return b;
}

interface RestoreJson {
  entries: number;
  versions: number | null;
  delete_markers: number | null;
  failed_count: number;
  all_versions: boolean;
  dry_run: boolean;
}

async function restoreAll(to: string, ref: string, ...more: string[]): Promise<RestoreJson> {
  const r = ok(await k(['at', store, 'restore', '-json', '-all-versions', '-to', `@${to}`, ...more, ref]));
  const [out] = jsonLines(r.stdout) as unknown as RestoreJson[];
  expect(out!.failed_count).toBe(0);
  expect(out!.all_versions).toBe(true);
  return out!;
}

/** The keys of the source and their versions, newest first (`-` a delete marker): what the test wrote. */
const WRITTEN: Record<string, string[]> = {
  a: ['a1'],
  'a/b': ['b1'],
  'back.txt': ['back2', '-', 'back1'],
  'docs/multi.txt': ['m3', 'm2', 'm1'],
  'docs/over.txt': ['over2', 'over1'],
  'gone.txt': ['-', 'gone1'],
  'plain.txt': ['plain1'],
  'pre.txt': ['pre2', 'pre1'],
};

/** The `rev` of each version (its user metadata), `-` for a delete marker. */
function revs(versions: Map<string, Version[]>): Record<string, string[]> {
  return Object.fromEntries(
    [...versions].map(([key, list]) => [key, list.map((v) => (v === 'deleted' ? '-' : v.metadata.rev!))]),
  );
}

beforeAll(async () => {
  bucket = await s3.create('allv-src');
  // Written before versioning is enabled: the null version.
  await put(bucket, 'pre.txt', 'pre one\n', 'text/plain', 'pre1');
  await enableVersioning(bucket);
  await put(bucket, 'pre.txt', 'pre two\n', 'text/plain', 'pre2');
  await put(bucket, 'docs/multi.txt', 'multi one\n', 'text/plain', 'm1');
  await put(bucket, 'docs/multi.txt', '# multi two\n', 'text/markdown', 'm2');
  await put(bucket, 'docs/multi.txt', '{"multi":3}\n', 'application/json', 'm3');
  await put(bucket, 'docs/over.txt', 'over one\n', 'text/plain', 'over1');
  await put(bucket, 'docs/over.txt', 'over two\n', 'text/csv', 'over2');
  await put(bucket, 'gone.txt', 'gone\n', 'text/plain', 'gone1');
  await del(bucket, 'gone.txt');
  await put(bucket, 'back.txt', 'back one\n', 'text/plain', 'back1');
  await del(bucket, 'back.txt');
  await put(bucket, 'back.txt', 'back two\n', 'text/html', 'back2');
  await put(bucket, 'plain.txt', 'plain\n', 'text/plain', 'plain1');
  await put(bucket, 'a', 'file a\n', 'application/octet-stream', 'a1');
  await put(bucket, 'a/b', 'under a\n', 'text/plain', 'b1');

  home = await makeCliHome('s3-all-versions');
  ok(await k(['pkg', 'add', 's3']));
  ok(await k(['source', 'add', 'src', ...creds(bucket), 'versions=all']));
  ok(await k(['source', 'add', 'plain', ...creds(bucket)]));
  store = join(home.dir, 'store');
  ok(await k(['at', store, 'create']));
  const r = ok(await k(['at', store, 'backup', '-json', '@src']));
  snapshot = (jsonLines(r.stdout)[0]!.snapshot as { id: string }).id.slice(0, 8);
}, 600_000);

afterAll(async () => {
  for (const b of [bucket, ...versionedBuckets]) await emptyVersioned(client, b);
  await s3.dispose();
});
afterAll(() => removeDir(home?.dir));

describe('restore -all-versions', { timeout: 300_000 }, () => {
  it('replays every version of every key into a versioned bucket, compared version by version', async () => {
    const b = await destination('all');
    const started = performance.now();
    const out = await restoreAll('all', snapshot);
    const ms = performance.now() - started;
    expect(out.versions).toBe(13);
    expect(out.delete_markers).toBe(2);

    const source = await versionsOf(bucket);
    const restored = await versionsOf(b);
    // The source is what the test wrote (so the comparison below compares something).
    expect(revs(source)).toEqual(WRITTEN);
    expect(restored).toEqual(source);
    // Spot check of one version's own Content-Type, metadata and tags.
    expect(restored.get('docs/multi.txt')![1]).toEqual({
      body: '# multi two\n',
      contentType: 'text/markdown',
      metadata: { rev: 'm2' },
      tags: { rev: 'm2', key: 'docs/multi.txt' },
    });
    // New version ids: none of the source's (the null version among them).
    const ids = (h: Map<string, Listed[]>) => [...h.values()].flat().map((l) => l.versionId);
    const sourceIds = new Set(ids(await history(client, bucket)));
    expect(sourceIds.has('null')).toBe(true);
    const restoredIds = ids(await history(client, b));
    expect(restoredIds.filter((id) => sourceIds.has(id))).toEqual([]);
    console.log(`restore -all-versions of 15 versions: ${Math.round(ms)} ms`);
  });

  it('restores a folder, or one key, as PATH', async () => {
    const folder = await destination('folder');
    await restoreAll('folder', `${snapshot}:/docs`);
    expect(await versionsOf(folder)).toEqual(await versionsOf(bucket, 'docs/'));
    const one = await destination('one');
    const r = ok(await k(['at', store, 'restore', '-all-versions', '-to', '@one', `${snapshot}:/back.txt`]));
    expect(r.stdout).toMatch(
      /^restored 2 versions and 1 delete markers \(\d+ B\) of [0-9a-f]{8}:\/back\.txt, every version, to @one\n$/,
    );
    expect(revs(await versionsOf(one))).toEqual({ 'back.txt': ['back2', '-', 'back1'] });
  });

  it('-dry-run counts and writes nothing', async () => {
    const b = await destination('dry');
    const out = await restoreAll('dry', snapshot, '-dry-run');
    expect(out).toMatchObject({ dry_run: true, versions: 13, delete_markers: 2 });
    expect((await history(client, b)).size).toBe(0);
  });

  it('refuses what cannot take every version, in one line, writing nothing', async () => {
    const unversioned = await destination('unversioned', false);
    const line = failsInOneLine(
      await k(['at', store, 'restore', '-all-versions', '-to', '@unversioned', snapshot]),
    );
    expect(line).toContain('has no versioning enabled');
    expect(line).toContain(unversioned);
    expect((await history(client, unversioned)).size).toBe(0);
    // A missing bucket is not created.
    const missing = `${unversioned}-missing`;
    ok(await k(['destination', 'add', 'missing', ...creds(missing)]));
    failsInOneLine(await k(['at', store, 'restore', '-all-versions', '-to', '@missing', snapshot]));
    await expect(client.send(new ListObjectVersionsCommand({ Bucket: missing }))).rejects.toThrow();
    // A directory.
    const dir = join(home.dir, 'all-dir');
    const local = failsInOneLine(await k(['at', store, 'restore', '-all-versions', '-to', dir, snapshot]));
    expect(local).toContain('keeps no versions');
    // A snapshot without versions.
    const r = ok(await k(['at', store, 'backup', '-json', '@plain']));
    const plain = (jsonLines(r.stdout)[0]!.snapshot as { id: string }).id.slice(0, 8);
    const b = await destination('refused');
    const none = failsInOneLine(await k(['at', store, 'restore', '-all-versions', '-to', '@refused', plain]));
    expect(none).toContain('holds no object versions');
    // Usage errors: with -at, with -overwrite never, a PATH inside /%%versions.
    const both = failsInOneLine(
      await k(['at', store, 'restore', '-all-versions', '-at', '1h', '-to', '@refused', snapshot]),
      2,
    );
    expect(both).toContain('-all-versions and -at');
    failsInOneLine(
      await k(['at', store, 'restore', '-all-versions', '-overwrite', 'never', '-to', '@refused', snapshot]),
      2,
    );
    failsInOneLine(
      await k(['at', store, 'restore', '-all-versions', '-to', '@refused', `${snapshot}:/%%versions/%a%`]),
      2,
    );
    expect((await history(client, b)).size).toBe(0);
  });
});

/** The ETags of the versions of `key` in `b` (no delete markers), newest first, in listing order. */
async function etagsOf(b: string, key: string): Promise<string[]> {
  const out: string[] = [];
  let keyMarker: string | undefined;
  let idMarker: string | undefined;
  for (;;) {
    const page = await client.send(
      new ListObjectVersionsCommand({
        Bucket: b,
        Prefix: key,
        ...(keyMarker !== undefined ? { KeyMarker: keyMarker, VersionIdMarker: idMarker } : {}),
      }),
    );
    expect(page.DeleteMarkers ?? []).toEqual([]);
    for (const v of page.Versions ?? []) if (v.Key === key) out.push(v.ETag!);
    if (!page.IsTruncated) return out;
    keyMarker = page.NextKeyMarker;
    idMarker = page.NextVersionIdMarker;
  }
}

/**
 * Versions of the one key of the test below: PUT one after the other, in the source and by the
 * restore. 10,000 took 100 s to PUT and 102 s to restore on the shared test machine (about 10 ms
 * per PUT on RGW, either way): the test uses 2,000; the core's unit test covers 10,000.
 */
const MANY = 2_000;

describe('restore -all-versions of a key with many versions', { timeout: 600_000 }, () => {
  it(`writes the ${MANY.toLocaleString('en')} versions of one key in order`, async () => {
    // Neither bucket is emptied at the end: RGW 16.2 crashes (a segfault in RGWDeleteMultiObj) on a
    // DeleteObjects of many versions of one key, and deleting them one by one takes as long as the
    // test. They are left to the throw-away test server (tools/s3-server/stop.sh deletes it all).
    const src = await createTestBucket(client, 'allv-many');
    await enableVersioning(src);
    let t = performance.now();
    for (let i = 1; i <= MANY; i++) {
      await client.send(new PutObjectCommand({ Bucket: src, Key: 'many.txt', Body: `version ${i}\n` }));
    }
    const putMs = performance.now() - t;
    ok(await k(['source', 'add', 'many', ...creds(src), 'versions=all']));
    t = performance.now();
    const r = ok(await k(['at', store, 'backup', '-json', '@many']));
    const backupMs = performance.now() - t;
    const id = (jsonLines(r.stdout)[0]!.snapshot as { id: string }).id.slice(0, 8);
    const b = await createTestBucket(client, 'allv-many-to');
    await enableVersioning(b);
    ok(await k(['destination', 'add', 'many', ...creds(b)]));
    t = performance.now();
    const out = await restoreAll('many', id);
    const restoreMs = performance.now() - t;
    expect(out).toMatchObject({ versions: MANY, delete_markers: 0 });
    const expected = await etagsOf(src, 'many.txt');
    expect(expected.length).toBe(MANY);
    // Every body differs: the same ETags in the same order is the same versions in the same order.
    expect(new Set(expected).size).toBe(MANY);
    expect(await etagsOf(b, 'many.txt')).toEqual(expected);
    console.log(
      `${MANY} versions of one key: PUT by the test ${Math.round(putMs)} ms, backup ${Math.round(backupMs)} ms, ` +
        `restore -all-versions ${Math.round(restoreMs)} ms`,
    );
  });
});
