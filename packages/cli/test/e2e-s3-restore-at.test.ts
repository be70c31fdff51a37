/**
 * `restore -at TIME` through the built binary against the S3 test server (Ceph RGW): a versioned
 * bucket whose keys are written, overwritten and deleted in four steps more than a second apart
 * (each version with its own Content-Type, user metadata and tags) is backed up with the S3
 * source's `versions=all`, then restored as it was at the end of each of the first three steps
 * into new buckets. Each restored bucket is compared object by object (body, Content-Type, user
 * metadata, tags) with the state at that time that the test computes itself from
 * ListObjectVersions and GetObject of its own client. Also: a time before the first write restores
 * nothing; a folder and a key as PATH; -dry-run writes nothing; -overwrite if-changed skips what is
 * identical; a snapshot without versions is refused in one line (exit 1); a PATH inside /%%versions
 * is a usage error (exit 2).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DeleteObjectCommand, ListObjectsV2Command, PutBucketVersioningCommand } from '@aws-sdk/client-s3';
import { s3TestBuckets } from '@kloset/s3-common/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliHome, failsInOneLine, makeCliHome, ok, removeDir } from './helpers/cli-home.ts';
import { jsonLines } from './helpers/run.ts';
import {
  binaryIn,
  bucketOptions,
  emptyVersioned,
  listVersions,
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

const k = binaryIn(() => home, 'restore-at');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const creds = (b: string): string[] => bucketOptions(env, b);

const put = (key: string, body: string, contentType: string, rev: string): Promise<void> =>
  putRev(client, bucket, key, body, contentType, rev);

const del = (key: string) => client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));

type Obj = ReadObject;

interface Version {
  key: string;
  versionId: string;
  lastModified: number;
  deleteMarker: boolean;
}

/** Every version and delete marker of the source bucket, as its ListObjectVersions lists them. */
async function allVersions(): Promise<Version[]> {
  const out: Version[] = [];
  for await (const v of listVersions(client, bucket)) {
    out.push({
      key: v.key,
      versionId: v.versionId,
      lastModified: v.lastModified.getTime(),
      deleteMarker: v.deleteMarker,
    });
  }
  return out;
}

/** The bucket as it was at `time` (Unix ms), keys under `prefix` without it: computed independently. */
async function stateAt(time: number, prefix = ''): Promise<Map<string, Obj>> {
  const newest = new Map<string, Version>();
  for (const v of await allVersions()) {
    if (v.lastModified > time || !v.key.startsWith(prefix)) continue;
    const seen = newest.get(v.key);
    if (seen === undefined || v.lastModified > seen.lastModified) newest.set(v.key, v);
  }
  const out = new Map<string, Obj>();
  for (const v of [...newest.values()].sort((a, b) => a.key.localeCompare(b.key))) {
    if (!v.deleteMarker)
      out.set(v.key.slice(prefix.length), await readObject(client, bucket, v.key, v.versionId));
  }
  return out;
}

/** Every object of bucket `b`, read with the test's own client. */
async function contents(b: string): Promise<Map<string, Obj>> {
  const out = new Map<string, Obj>();
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: b, ...(token !== undefined ? { ContinuationToken: token } : {}) }),
    );
    for (const o of page.Contents ?? []) out.set(o.Key!, await readObject(client, b, o.Key!));
    token = page.NextContinuationToken;
  } while (token !== undefined);
  return new Map([...out].sort(([a], [b2]) => a.localeCompare(b2)));
}

/** A new empty bucket, the destination `@NAME`. */
async function destination(name: string): Promise<string> {
  const b = await s3.create(`at-${name}`);
  ok(await k(['destination', 'add', name, ...creds(b)]));
  return b;
}

/** The newest LastModified (Unix ms) of the versions listed now that are not in `before`. */
async function stepEnd(before: Set<string>): Promise<number> {
  const fresh = (await allVersions()).filter((v) => !before.has(v.versionId));
  for (const v of fresh) before.add(v.versionId);
  return Math.max(...fresh.map((v) => v.lastModified));
}

const iso = (ms: number): string => new Date(ms).toISOString();
/** The end of steps 1, 2 and 3, and the first write. */
const ends: number[] = [];
let firstWrite = 0;

interface RestoreJson {
  entries: number;
  skipped: number;
  skipped_identical: number;
  failed_count: number;
  at: string | null;
  dry_run: boolean;
}

async function restoreAt(to: string, time: number, ref: string, ...more: string[]): Promise<RestoreJson> {
  const r = ok(await k(['at', store, 'restore', '-json', '-at', iso(time), '-to', `@${to}`, ...more, ref]));
  const [out] = jsonLines(r.stdout) as unknown as RestoreJson[];
  expect(out!.failed_count).toBe(0);
  expect(out!.at).toBe(iso(time));
  return out!;
}

beforeAll(async () => {
  bucket = await s3.create('at-src');
  await client.send(
    new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }),
  );
  const seen = new Set<string>();
  // Step 1.
  await put('a.txt', 'a one\n', 'text/plain', 'a1');
  await put('docs/x.json', '{"x":1}\n', 'application/json', 'x1');
  await put('docs/sub/z.txt', 'z one\n', 'text/plain', 'z1');
  ends.push(await stepEnd(seen));
  firstWrite = Math.min(...(await allVersions()).map((v) => v.lastModified));
  await sleep(1100);
  // Step 2: overwrite a.txt (another Content-Type), a new key.
  await put('a.txt', '# a two\n', 'text/markdown', 'a2');
  await put('docs/y.txt', 'y one\n', 'text/plain', 'y1');
  // A key that is also a folder.
  await put('t', 'file t\n', 'text/plain', 't1');
  await put('t/u.txt', 'under t\n', 'text/plain', 'u1');
  ends.push(await stepEnd(seen));
  await sleep(1100);
  // Step 3: two deletions, a new key.
  await del('docs/x.json');
  await del('docs/sub/z.txt');
  await put('b.txt', 'b one\n', 'text/plain', 'b1');
  ends.push(await stepEnd(seen));
  await sleep(1100);
  // Step 4: a deleted key comes back, another is deleted.
  await put('docs/x.json', '{"x":2}\n', 'application/json', 'x2');
  await del('a.txt');
  await put('docs/sub/z.txt', 'z two\n', 'text/plain', 'z2');
  await stepEnd(seen);

  home = await makeCliHome('s3-restore-at');
  ok(await k(['pkg', 'add', 's3']));
  ok(await k(['source', 'add', 'src', ...creds(bucket), 'versions=all']));
  ok(await k(['source', 'add', 'plain', ...creds(bucket)]));
  store = join(home.dir, 'store');
  ok(await k(['at', store, 'create']));
  const r = ok(await k(['at', store, 'backup', '-json', '@src']));
  snapshot = (jsonLines(r.stdout)[0]!.snapshot as { id: string }).id.slice(0, 8);
}, 600_000);

afterAll(async () => {
  await emptyVersioned(client, bucket);
  await s3.dispose();
});
afterAll(() => removeDir(home?.dir));

describe('restore -at', { timeout: 300_000 }, () => {
  it('restores the bucket as it was at the end of each of three steps', async () => {
    const expectedKeys = [
      ['a.txt', 'docs/sub/z.txt', 'docs/x.json'],
      ['a.txt', 'docs/sub/z.txt', 'docs/x.json', 'docs/y.txt', 't', 't/u.txt'],
      ['a.txt', 'b.txt', 'docs/y.txt', 't', 't/u.txt'],
    ];
    for (const [i, time] of ends.entries()) {
      const name = `step${i + 1}`;
      const b = await destination(name);
      await restoreAt(name, time, snapshot);
      const expected = await stateAt(time);
      expect([...expected.keys()], name).toEqual(expectedKeys[i]);
      expect(await contents(b), name).toEqual(expected);
    }
    // Spot checks of the independent state: the overwritten key's own Content-Type, metadata, tags.
    const at2 = await stateAt(ends[1]!);
    expect(at2.get('a.txt')).toEqual({
      body: '# a two\n',
      contentType: 'text/markdown',
      metadata: { rev: 'a2' },
      tags: { rev: 'a2', key: 'a.txt' },
    });
  });

  it('a time before the first write restores nothing', async () => {
    const b = await destination('before');
    const out = await restoreAt('before', firstWrite - 1000, snapshot);
    expect(out.entries).toBe(1); // the root directory only
    expect((await contents(b)).size).toBe(0);
  });

  it('restores a folder, or one key, as PATH', async () => {
    const b = await destination('folder');
    await restoreAt('folder', ends[0]!, `${snapshot}:/docs`);
    const expected = await stateAt(ends[0]!, 'docs/');
    expect([...expected.keys()]).toEqual(['sub/z.txt', 'x.json']);
    expect(await contents(b)).toEqual(expected);

    const one = await destination('one');
    await restoreAt('one', ends[1]!, `${snapshot}:/a.txt`);
    expect(await contents(one)).toEqual(
      await stateAt(ends[1]!, '').then((m) => new Map([['a.txt', m.get('a.txt')!]])),
    );
    // The key deleted then: nothing.
    const none = await destination('none');
    await restoreAt('none', ends[2]!, `${snapshot}:/docs/x.json`);
    expect((await contents(none)).size).toBe(0);
  });

  it('-dry-run writes nothing; -overwrite if-changed skips what is identical', async () => {
    const b = await destination('dry');
    const dry = await restoreAt('dry', ends[2]!, snapshot, '-dry-run');
    expect(dry.dry_run).toBe(true);
    // The root, /docs, /t and the five keys.
    expect(dry.entries).toBe(8);
    expect((await contents(b)).size).toBe(0);
    await restoreAt('dry', ends[2]!, snapshot);
    const again = await restoreAt('dry', ends[2]!, snapshot, '-overwrite', 'if-changed');
    expect(again.skipped_identical).toBe(5);
    expect(await contents(b)).toEqual(await stateAt(ends[2]!));
  });

  it('restores into a directory: a key that is also a folder takes its twin name', async () => {
    const to = join(home.dir, 'at-dir');
    const r = ok(await k(['at', store, 'restore', '-at', iso(ends[1]!), '-to', to, snapshot]));
    expect(r.stdout).toContain(`at ${iso(ends[1]!)}`);
    const files = (await readdir(to, { recursive: true })).sort();
    expect(files).toEqual([
      '%t%',
      'a.txt',
      'docs',
      'docs/sub',
      'docs/sub/z.txt',
      'docs/x.json',
      'docs/y.txt',
      't',
      't/u.txt',
    ]);
    expect(await readFile(join(to, 'a.txt'), 'utf8')).toBe('# a two\n');
    expect(await readFile(join(to, '%t%'), 'utf8')).toBe('file t\n');
  });

  it('refuses a snapshot without versions (exit 1) and a PATH inside /%%versions (exit 2)', async () => {
    const r = ok(await k(['at', store, 'backup', '-json', '@plain']));
    const plain = (jsonLines(r.stdout)[0]!.snapshot as { id: string }).id.slice(0, 8);
    await destination('refused');
    const line = failsInOneLine(await k(['at', store, 'restore', '-at', '1h', '-to', '@refused', plain]));
    expect(line).toContain('holds no object versions');
    failsInOneLine(
      await k(['at', store, 'restore', '-at', '1h', '-to', '@refused', `${snapshot}:/%%versions/%a.txt%`]),
      2,
    );
    failsInOneLine(await k(['at', store, 'restore', '-at', 'yesterday', '-to', '@refused', snapshot]), 2);
    const none = failsInOneLine(
      await k(['at', store, 'restore', '-at', '1h', '-to', '@refused', `${snapshot}:/nope`]),
    );
    expect(none).toContain('/nope has no versions');
  });
});
