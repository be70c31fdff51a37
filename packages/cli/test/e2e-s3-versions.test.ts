/**
 * Every version of a versioned bucket (`versions=all`), through the built binary against the S3
 * test server (Ceph RGW), the source reached through a counting proxy: a bucket with versioning
 * enabled holds a key with 3 versions (each with its own user metadata and tags), an overwritten
 * key, a deleted key (its latest version a delete marker), a plain key, a key written before
 * versioning was enabled (its null version) and a key with 10,000 versions. A backup records every
 * version and delete marker; `ls -versions` lists each key's
 * versions exactly as ListObjectVersions of an independent client does; the plain tree holds the
 * latest versions (not the deleted key). After new versions, a new key and a deletion, a second
 * backup sends GetObject only for the versions it had not recorded. A bucket without versioning
 * backs up with `versions=all` as one `null` version per key. `restore -at` a time in the middle of
 * the 10,000 versions writes the version of that time. (Memory with many versions: tools/bench/versions.sh.)
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DeleteObjectCommand, PutBucketVersioningCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createTestBucket, type FaultProxy, s3TestBuckets, startFaultProxy } from '@kloset/s3-common/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliHome, failsInOneLine, makeCliHome, ok, removeDir } from './helpers/cli-home.ts';
import { jsonLines } from './helpers/run.ts';
import { binaryIn, listVersions } from './helpers/s3-versioned.ts';

const s3 = s3TestBuckets();
const { env, client } = s3;

let home: CliHome;
let proxy: FaultProxy;
let bucket: string;
let plainBucket: string;
let store: string;
const MANY = 10_000;

const k = binaryIn(() => home, 'versions');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Puts one version; returns its version id. */
async function put(b: string, key: string, body: string, rev?: string): Promise<string> {
  const out = await client.send(
    new PutObjectCommand({
      Bucket: b,
      Key: key,
      Body: body,
      ContentType: 'text/plain',
      ...(rev !== undefined ? { Metadata: { rev }, Tagging: `rev=${rev}` } : {}),
    }),
  );
  // Versions of one key a few milliseconds apart: LastModified tells them apart.
  await sleep(5);
  return out.VersionId ?? 'null';
}

/** One version as ListObjectVersions of the independent client shows it, in `ls -versions -json` terms. */
interface Listed {
  key: string;
  version_id: string;
  last_modified: string;
  size: number;
  latest: boolean;
  delete_marker: boolean;
}

/** Every version of `key`, newest first, as listed by the independent client (all pages). */
async function listedVersions(b: string, key: string): Promise<Listed[]> {
  const out: Listed[] = [];
  for await (const v of listVersions(client, b, key)) {
    if (v.key !== key) continue;
    out.push({
      key,
      version_id: v.versionId,
      last_modified: v.lastModified.toISOString(),
      size: v.size,
      latest: v.isLatest,
      delete_marker: v.deleteMarker,
    });
  }
  // Newest first (S3's order of one key's versions).
  return out.sort((a, b) => b.last_modified.localeCompare(a.last_modified));
}

async function lsVersions(ref: string): Promise<Record<string, unknown>[]> {
  return jsonLines(ok(await k(['at', store, 'ls', '-versions', '-json', ref])).stdout);
}

const pick = (r: Record<string, unknown>): Listed => ({
  key: r.key as string,
  version_id: r.version_id as string,
  last_modified: r.last_modified as string,
  size: r.size as number,
  latest: r.latest as boolean,
  delete_marker: r.delete_marker as boolean,
});

/** Object GetObjects the proxy forwarded since `from` (not listings, not tagging): their version ids. */
function objectGets(from: number): string[] {
  const out: string[] = [];
  for (const r of proxy.requests.slice(from)) {
    if (r.method !== 'GET') continue;
    const url = new URL(r.path, 'http://x');
    if (url.searchParams.has('tagging') || url.searchParams.has('versions')) continue;
    if (url.pathname.split('/').filter(Boolean).length < 2) continue; // a bucket request
    out.push(url.searchParams.get('versionId') ?? '(none)');
  }
  return out;
}

async function backup(): Promise<{ id: string; files: number }> {
  const r = ok(await k(['at', store, 'backup', '-json', '@bucket']));
  const snap = jsonLines(r.stdout)[0]!.snapshot as { id: string; summary: { errors: number; files: number } };
  expect(snap.summary.errors).toBe(0);
  return { id: snap.id, files: snap.summary.files };
}

/** A named source `NAME` over `host`/`b` with versions=all (and `more` options). */
async function addSource(name: string, host: string, b: string, ...more: string[]): Promise<void> {
  const keys = [`access_key=${env.accessKey}`, `secret_access_key=${env.secretKey}`];
  const options = [...keys, 'use_tls=false', 'versions=all', ...more];
  ok(await k(['source', 'add', name, `location=s3://${host}/${b}`, ...options]));
}

const ids: Record<string, string[]> = {};
let firstGets: string[] = [];
let firstId = '';

beforeAll(async () => {
  // Not emptied at the end: RGW 16.2 can crash (a segfault in RGWDeleteMultiObj) on a DeleteObjects
  // of many versions of one key, and deleting the 10,000 one by one takes about 50 s. Left to the
  // throw-away test server (tools/s3-server/stop.sh deletes it all).
  bucket = await createTestBucket(client, 'versions');
  plainBucket = await s3.create('unversioned');
  // Written before versioning is enabled: the null version, then overwritten.
  ids.legacy = [await put(bucket, 'legacy.txt', 'before versioning\n', 'before')];
  await client.send(
    new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }),
  );
  ids.a = [];
  for (const rev of ['1', '2', '3']) ids.a.push(await put(bucket, 'docs/a.txt', `a version ${rev}\n`, rev));
  ids.b = [await put(bucket, 'docs/b.txt', 'b before\n'), await put(bucket, 'docs/b.txt', 'b overwritten\n')];
  ids.gone = [await put(bucket, 'gone.txt', 'soon deleted\n')];
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'gone.txt' }));
  ids.keep = [await put(bucket, 'keep.txt', 'kept\n')];
  ids.legacy.push(await put(bucket, 'legacy.txt', 'after versioning\n', 'after'));
  ids.many = [];
  for (let i = 0; i < MANY; i += 50) {
    const batch = Array.from({ length: 50 }, (_, j) =>
      client
        .send(new PutObjectCommand({ Bucket: bucket, Key: 'many/k.txt', Body: `v${i + j}\n` }))
        .then((o) => o.VersionId ?? 'null'),
    );
    ids.many.push(...(await Promise.all(batch)));
  }
  await put(plainBucket, 'one.txt', 'one\n', 'plain');
  await put(plainBucket, 'dir/two.txt', 'two\n');

  proxy = await startFaultProxy(env.endpoint, () => 'pass');
  home = await makeCliHome('s3-versions');
  ok(await k(['pkg', 'add', 's3']));
  await addSource('bucket', proxy.host, bucket);
  await addSource('plain', proxy.host, plainBucket);
  store = join(home.dir, 'store');
  ok(await k(['at', store, 'create']));
  const from = proxy.requests.length;
  firstId = (await backup()).id.slice(0, 8);
  firstGets = objectGets(from);
}, 600_000);

afterAll(async () => {
  await proxy?.close();
  await s3.dispose();
});
afterAll(() => removeDir(home?.dir));

describe('versions=all', { timeout: 300_000 }, () => {
  it('reads every version once, the latest too (its plain file and its version entry share one read)', async () => {
    const expected = new Map<string, number>();
    for (const key of ['docs/a.txt', 'docs/b.txt', 'gone.txt', 'keep.txt', 'legacy.txt', 'many/k.txt']) {
      for (const v of await listedVersions(bucket, key)) {
        if (!v.delete_marker) expected.set(v.version_id, 1);
      }
    }
    expect(expected.size).toBe(3 + 2 + 1 + 1 + 2 + MANY);
    const counts = new Map<string, number>();
    for (const v of firstGets) counts.set(v, (counts.get(v) ?? 0) + 1);
    expect(counts).toEqual(expected);
  });

  it("ls -versions lists each key's versions exactly as ListObjectVersions does", async () => {
    for (const key of ['docs/a.txt', 'docs/b.txt', 'gone.txt', 'keep.txt', 'legacy.txt']) {
      const got = (await lsVersions(`latest:/${key}`)).map(pick);
      expect(got, key).toEqual(await listedVersions(bucket, key));
    }
    const gone = (await lsVersions('latest:/gone.txt')).map(pick);
    expect(gone.map((v) => [v.delete_marker, v.latest])).toEqual([
      [true, true],
      [false, false],
    ]);
    const text = ok(await k(['at', store, 'ls', '-versions', 'latest:/docs/a.txt'])).stdout;
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(new RegExp(`^${ids.a![2]}  \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z +\\d+ B  latest$`));
    expect(lines[2]).toMatch(new RegExp(`^${ids.a![0]}  \\S+ +\\d+ B$`));
  });

  it(`the key with ${MANY.toLocaleString('en')} versions has them all, newest first`, async () => {
    const got = (await lsVersions('latest:/many/k.txt')).map(pick);
    const listed = await listedVersions(bucket, 'many/k.txt');
    expect(got).toHaveLength(MANY);
    expect(new Set(got.map((v) => v.version_id))).toEqual(new Set(listed.map((v) => v.version_id)));
    expect(got.map((v) => v.last_modified)).toEqual(listed.map((v) => v.last_modified));
    expect(got.filter((v) => v.latest).map((v) => v.version_id)).toEqual(
      listed.filter((v) => v.latest).map((v) => v.version_id),
    );
  });

  it(`restore -at a time in the middle of the ${MANY.toLocaleString('en')} versions writes the version of that time`, async () => {
    const listed = await listedVersions(bucket, 'many/k.txt');
    expect(listed).toHaveLength(MANY);
    // Versions PUT 50 at once can share a millisecond: the instant is the LastModified of a version
    // in the middle that shares it with none, so that it is the one newest at that instant.
    const ms = listed.map((v) => Date.parse(v.last_modified));
    let mid = MANY / 2;
    while (mid < MANY * 0.75 && (ms[mid - 1] === ms[mid] || ms[mid + 1] === ms[mid])) mid++;
    expect(mid, 'a version in the middle alone in its millisecond').toBeLessThan(MANY * 0.75);
    const chosen = listed[mid]!;
    const to = join(home.dir, 'many-at');
    ok(await k(['at', store, 'restore', '-at', chosen.last_modified, '-to', to, `${firstId}:/many/k.txt`]));
    expect(await readdir(to)).toEqual(['k.txt']);
    expect(await readFile(join(to, 'k.txt'), 'utf8')).toBe(`v${ids.many!.indexOf(chosen.version_id)}\n`);
    expect(ids.many!.indexOf(chosen.version_id)).toBeGreaterThanOrEqual(0);
  });

  it('each version keeps its own content, user metadata and tags; the plain tree holds the latest', async () => {
    const versions = await lsVersions('latest:/docs/a.txt');
    for (const [i, v] of versions.entries()) {
      const rev = String(3 - i);
      const [entry] = jsonLines(
        ok(await k(['at', store, 'ls', '-json', `latest:${v.path as string}`])).stdout,
      );
      expect(entry).toMatchObject({ metadata: { rev }, tags: { rev } });
      const body = ok(await k(['at', store, 'cat', `latest:${v.path as string}`])).stdout;
      expect(body).toBe(`a version ${rev}\n`);
    }
    expect(ok(await k(['at', store, 'cat', 'latest:/docs/a.txt'])).stdout).toBe('a version 3\n');
    expect(ok(await k(['at', store, 'cat', 'latest:/docs/b.txt'])).stdout).toBe('b overwritten\n');
    const plain = ok(await k(['at', store, 'ls', '-recursive', 'latest'])).stdout;
    const paths = plain
      .trimEnd()
      .split('\n')
      .map((l) => l.split('  ').at(-1)!)
      .filter((p) => !p.startsWith('/%%versions'));
    expect(paths.sort()).toEqual([
      '/docs',
      '/docs/a.txt',
      '/docs/b.txt',
      '/keep.txt',
      '/legacy.txt',
      '/many',
      '/many/k.txt',
    ]);
    failsInOneLine(await k(['at', store, 'ls', 'latest:/gone.txt']));
  });

  it('an object written before versioning was enabled is the null version, with its own metadata and tags', async () => {
    const versions = await lsVersions('latest:/legacy.txt');
    expect(versions.map((v) => [v.version_id, v.latest])).toEqual([
      [ids.legacy![1], true],
      ['null', false],
    ]);
    const nullPath = versions[1]!.path as string;
    const [entry] = jsonLines(ok(await k(['at', store, 'ls', '-json', `latest:${nullPath}`])).stdout);
    expect(entry).toMatchObject({ metadata: { rev: 'before' }, tags: { rev: 'before' } });
    expect(ok(await k(['at', store, 'cat', `latest:${nullPath}`])).stdout).toBe('before versioning\n');
    expect(ok(await k(['at', store, 'cat', 'latest:/legacy.txt'])).stdout).toBe('after versioning\n');
  });

  it('restore without a path writes the latest versions only; a version path restores that version', async () => {
    const to = join(home.dir, 'restored');
    ok(await k(['at', store, 'restore', '-to', to, 'latest']));
    const files = (await readdir(to, { recursive: true })).sort();
    expect(files).toEqual([
      'docs',
      'docs/a.txt',
      'docs/b.txt',
      'keep.txt',
      'legacy.txt',
      'many',
      'many/k.txt',
    ]);
    expect(await readFile(join(to, 'docs/a.txt'), 'utf8')).toBe('a version 3\n');
    const [oldest] = (await lsVersions('latest:/docs/a.txt')).slice(-1);
    const one = join(home.dir, 'one-version');
    ok(await k(['at', store, 'restore', '-to', one, `latest:${oldest!.path as string}`]));
    const name = (oldest!.path as string).split('/').at(-1)!;
    expect(await readFile(join(one, name), 'utf8')).toBe('a version 1\n');
  });

  it('a second backup reads only the versions it has not recorded', async () => {
    const a4 = await put(bucket, 'docs/a.txt', 'a version 4\n', '4');
    const fresh = await put(bucket, 'new.txt', 'new\n');
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'docs/b.txt' }));
    // The oldest version of docs/a.txt expires (a lifecycle rule, or a delete by version id).
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'docs/a.txt', VersionId: ids.a![0] }));
    const from = proxy.requests.length;
    await backup();
    const gets = objectGets(from);
    // Each new version once: its version entry and the plain tree's file share the read.
    expect(gets.sort()).toEqual([a4, fresh].sort());
    expect(ok(await k(['at', store, 'cat', 'latest:/docs/a.txt'])).stdout).toBe('a version 4\n');
    expect(ok(await k(['at', store, 'cat', 'latest:/new.txt'])).stdout).toBe('new\n');
    const [plainA] = jsonLines(ok(await k(['at', store, 'ls', '-json', 'latest:/docs/a.txt'])).stdout);
    expect(plainA).toMatchObject({ metadata: { rev: '4' }, tags: { rev: '4' } });
    // The plain file's metadata is the version's without what the listing says of the version.
    expect(plainA!.attributes).toEqual({ 's3.key': 'docs/a.txt', 's3.version-id': a4 });
    const b = (await lsVersions('latest:/docs/b.txt')).map(pick);
    expect(b).toEqual(await listedVersions(bucket, 'docs/b.txt'));
    expect(b[0]).toMatchObject({ delete_marker: true, latest: true });
    expect((await lsVersions('latest:/docs/a.txt')).map(pick)).toEqual(
      await listedVersions(bucket, 'docs/a.txt'),
    );
    failsInOneLine(await k(['at', store, 'ls', 'latest:/docs/b.txt']));
    // Gone from the bucket and from the new snapshot, the expired version stays in the first one.
    const now = (await lsVersions('latest:/docs/a.txt')).map((v) => v.version_id);
    expect(now).toEqual([a4, ids.a![2], ids.a![1]]);
    const then = await lsVersions(`${firstId}:/docs/a.txt`);
    expect(then.map((v) => v.version_id)).toEqual([ids.a![2], ids.a![1], ids.a![0]]);
    const expired = then[2]!.path as string;
    expect(ok(await k(['at', store, 'cat', `${firstId}:${expired}`])).stdout).toBe('a version 1\n');
  });

  it('backs up a bucket without versioning as one null version per key', async () => {
    const r = ok(await k(['at', store, 'backup', '-json', '@plain']));
    const snap = jsonLines(r.stdout)[0]!.snapshot as { id: string; summary: { errors: number } };
    expect(snap.summary.errors).toBe(0);
    const id = snap.id.slice(0, 8);
    for (const key of ['one.txt', 'dir/two.txt']) {
      const got = (await lsVersions(`${id}:/${key}`)).map(pick);
      expect(got).toEqual(await listedVersions(plainBucket, key));
      expect(got.map((v) => [v.version_id, v.latest])).toEqual([['null', true]]);
    }
    expect(ok(await k(['at', store, 'cat', `${id}:/dir/two.txt`])).stdout).toBe('two\n');
    const [one] = await lsVersions(`${id}:/one.txt`);
    const [entry] = jsonLines(
      ok(await k(['at', store, 'ls', '-json', `${id}:${one!.path as string}`])).stdout,
    );
    expect(entry).toMatchObject({ metadata: { rev: 'plain' }, tags: { rev: 'plain' } });
    expect((entry!.attributes as Record<string, string>)['s3.version-id']).toBe('null');
    // The plain file of a null version records no version id (as versions=latest), its content once.
    const [plain] = jsonLines(ok(await k(['at', store, 'ls', '-json', `${id}:/one.txt`])).stdout);
    expect(plain).toMatchObject({ metadata: { rev: 'plain' }, tags: { rev: 'plain' } });
    expect(plain!.attributes).toEqual({ 's3.key': 'one.txt' });
    expect(ok(await k(['at', store, 'cat', `${id}:/one.txt`])).stdout).toBe(
      ok(await k(['at', store, 'cat', `${id}:${one!.path as string}`])).stdout,
    );
  });

  it('with refresh_metadata, each version is asked HeadObject and tagging by its id: the same versions', async () => {
    await addSource('refreshed', env.host, bucket, 'refresh_metadata=true');
    // Without the key of MANY versions: two requests more for each (~35 s for 10,000), and the
    // versions looked at below are of other keys.
    const r = ok(await k(['at', store, 'backup', '-json', '-exclude', '/many', '@refreshed']));
    const snap = jsonLines(r.stdout)[0]!.snapshot as { id: string; summary: { errors: number } };
    expect(snap.summary.errors).toBe(0);
    const id = snap.id.slice(0, 8);
    for (const key of ['docs/a.txt', 'legacy.txt']) {
      const got = await lsVersions(`${id}:/${key}`);
      expect(got.map(pick)).toEqual(await listedVersions(bucket, key));
      for (const v of got) {
        const [entry] = jsonLines(
          ok(await k(['at', store, 'ls', '-json', `${id}:${v.path as string}`])).stdout,
        );
        const body = ok(await k(['at', store, 'cat', `${id}:${v.path as string}`])).stdout;
        const rev = (entry!.metadata as Record<string, string>).rev!;
        expect(entry).toMatchObject({ tags: { rev } });
        expect(body).toBe(key === 'legacy.txt' ? `${rev} versioning\n` : `a version ${rev}\n`);
      }
    }
  });

  it('backup filters judge versions as their key: -exclude leaves out the versions of the keys it names', async () => {
    const r = ok(
      await k(['at', store, 'backup', '-json', '-exclude', '/many', '-exclude', 'gone.*', '@bucket']),
    );
    const snap = jsonLines(r.stdout)[0]!.snapshot as { id: string; summary: { errors: number } };
    expect(snap.summary.errors).toBe(0);
    const id = snap.id.slice(0, 8);
    expect((await lsVersions(`${id}:/docs/a.txt`)).map(pick)).toEqual(
      await listedVersions(bucket, 'docs/a.txt'),
    );
    for (const key of ['many/k.txt', 'gone.txt']) {
      const line = failsInOneLine(await k(['at', store, 'ls', '-versions', `${id}:/${key}`]));
      expect(line).toContain('no versions recorded');
    }
    const all = ok(await k(['at', store, 'ls', '-recursive', `${id}:/%%versions`])).stdout;
    expect(all).not.toMatch(/many|gone/);
  });

  it('refuses a value of versions other than latest and all, and -versions without a path', async () => {
    const line = failsInOneLine(
      await k(['source', 'add', 'bad', `location=s3://${env.host}/${bucket}`, 'versions=some']),
      2,
    );
    expect(line).toContain('versions');
    failsInOneLine(await k(['at', store, 'ls', '-versions', 'latest']), 2);
  });
});
