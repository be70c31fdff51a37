/**
 * `diff` of two snapshots of a versioned bucket taken with `versions=all`, through the built binary
 * against the S3 test server (Ceph RGW). Between the two backups: a new version of a key, a key
 * deleted (a delete marker), an old version of another key deleted by its version id, a new key.
 * `diff A B` shows exactly those four version changes (in human output and in -json, the version
 * ids and times checked against ListObjectVersions of the test's own client) beside the plain
 * tree's changes, and nothing of the versions tree's directories or of the IsLatest flips.
 * `diff A:PATH B:PATH` on a key compares that key's file of the plain tree. A diff from a
 * `versions=latest` snapshot to a `versions=all` one shows every version as added.
 */
import { join } from 'node:path';
import { DeleteObjectCommand, PutBucketVersioningCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { s3TestBuckets } from '@kloset/s3-common/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliHome, makeCliHome, ok, removeDir } from './helpers/cli-home.ts';
import { jsonLines } from './helpers/run.ts';
import { binaryIn, emptyVersioned, type ListedVersion, listVersions } from './helpers/s3-versioned.ts';

const s3 = s3TestBuckets();
const { env, client } = s3;

let home: CliHome;
let bucket: string;
let store: string;
/** Short ids: `latest` (versions=latest, before the changes), `a` and `b` (versions=all, before and after). */
const snap: Record<string, string> = {};
/** Version ids by name. */
const id: Record<string, string> = {};
/** Every version and delete marker before (`a`) and after (`b`) the changes, as the bucket lists them. */
const listed: Record<string, ListedVersion[]> = {};

const k = binaryIn(() => home, 'diff-versions');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function put(key: string, body: string): Promise<string> {
  const out = await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  await sleep(5);
  return out.VersionId ?? 'null';
}

async function backup(source: string): Promise<string> {
  const r = ok(await k(['at', store, 'backup', '-json', source]));
  const s = jsonLines(r.stdout)[0]!.snapshot as { id: string; summary: { errors: number } };
  expect(s.summary.errors).toBe(0);
  return s.id.slice(0, 8);
}

async function listAll(): Promise<ListedVersion[]> {
  const out: ListedVersion[] = [];
  for await (const v of listVersions(client, bucket)) out.push(v);
  return out;
}

function find(side: string, key: string, versionId: string): ListedVersion {
  const v = listed[side]!.find((x) => x.key === key && x.versionId === versionId);
  if (v === undefined) throw new Error(`${key} ${versionId} not listed (${side})`);
  return v;
}

async function addSource(name: string, versions: string): Promise<void> {
  ok(
    await k([
      'source',
      'add',
      name,
      `location=s3://${env.host}/${bucket}`,
      `access_key=${env.accessKey}`,
      `secret_access_key=${env.secretKey}`,
      `use_tls=${env.useTls}`,
      `versions=${versions}`,
    ]),
  );
}

beforeAll(async () => {
  bucket = await s3.create('diff-versions');
  await client.send(
    new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }),
  );
  id.a1 = await put('docs/a.txt', 'a 1\n');
  id.a2 = await put('docs/a.txt', 'a 2\n');
  id.b1 = await put('docs/b.txt', 'b 1\n');
  id.old1 = await put('old.txt', 'old 1\n');
  id.old2 = await put('old.txt', 'old 2\n');
  id.keep = await put('keep.txt', 'kept\n');

  home = await makeCliHome('diff-versions');
  ok(await k(['pkg', 'add', 's3']));
  await addSource('all', 'all');
  await addSource('latest', 'latest');
  store = join(home.dir, 'store');
  ok(await k(['at', store, 'create']));
  snap.latest = await backup('@latest');
  snap.a = await backup('@all');
  listed.a = await listAll();

  id.a3 = await put('docs/a.txt', 'a 3, longer\n');
  const marker = await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'docs/b.txt' }));
  id.bMarker = marker.VersionId!;
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'old.txt', VersionId: id.old1 }));
  id.fresh = await put('new.txt', 'new\n');
  snap.b = await backup('@all');
  listed.b = await listAll();
}, 300_000);

afterAll(async () => {
  await emptyVersioned(client, bucket);
  await s3.dispose();
});
afterAll(() => removeDir(home?.dir));

/** A version change as -json gives it, the fields the test checks. */
interface Change {
  change: string;
  key: string | null;
  key_path: string;
  version_id: string;
  last_modified: string;
  size: number;
  latest: boolean;
  delete_marker: boolean;
}

const pick = (r: Record<string, unknown>): Change => ({
  change: r.change as string,
  key: r.key as string | null,
  key_path: r.key_path as string,
  version_id: r.version_id as string,
  last_modified: r.last_modified as string,
  size: r.size as number,
  latest: r.latest as boolean,
  delete_marker: r.delete_marker as boolean,
});

function expected(change: string, side: string, key: string, versionId: string): Change {
  const v = find(side, key, versionId);
  return {
    change,
    key,
    key_path: `/${key}`,
    version_id: versionId,
    last_modified: v.lastModified.toISOString(),
    size: v.size,
    latest: v.isLatest,
    delete_marker: v.deleteMarker,
  };
}

const isVersionChange = (r: Record<string, unknown>) => String(r.change).startsWith('version_');

describe('diff of versions=all snapshots', { timeout: 120_000 }, () => {
  it('-json: the four version changes, each once, and the plain tree as before', async () => {
    const records = jsonLines(ok(await k(['at', store, 'diff', '-json', snap.a!, snap.b!])).stdout);
    const versions = records.filter(isVersionChange).map(pick);
    // In tree order (a directory's files before its sub-directories); the IsLatest flips of the
    // versions a2 and b1 are not among them.
    expect(versions).toEqual([
      expected('version_added', 'b', 'new.txt', id.fresh!),
      expected('version_removed', 'a', 'old.txt', id.old1!),
      expected('version_added', 'b', 'docs/a.txt', id.a3!),
      expected('version_added', 'b', 'docs/b.txt', id.bMarker!),
    ]);
    expect(versions[2]).toMatchObject({ latest: true, size: 12, delete_marker: false });
    expect(versions[3]).toMatchObject({ latest: true, size: 0, delete_marker: true });
    // The raw tree path is kept, and the entry as the plain diff gives it.
    for (const r of records.filter(isVersionChange)) {
      expect(r.path as string).toMatch(/^\/%%versions\/.*\/\d{13}\./);
    }
    // The plain tree: every record not a version change, none of them in the versions tree.
    const plain = records.filter((r) => !isVersionChange(r));
    expect(plain.every((r) => !(r.path as string).startsWith('/%%versions'))).toBe(true);
    const files = plain.filter((r) => r.type === 'file').map((r) => [r.change, r.path]);
    expect(files).toEqual([
      ['added', '/new.txt'],
      ['changed', '/docs/a.txt'],
      ['removed', '/docs/b.txt'],
    ]);
    // The folders' mtimes (the newest object below them).
    expect(plain.filter((r) => r.type === 'directory').map((r) => [r.change, r.path])).toEqual([
      ['changed', '/'],
      ['changed', '/docs'],
    ]);
    const a = plain.find((r) => r.path === '/docs/a.txt')!;
    expect(a.fields).toContain('content');
  });

  it('human output: one line per version change, worded as ls -versions, and the count in the note', async () => {
    const r = ok(await k(['at', store, 'diff', snap.a!, snap.b!]));
    const lines = r.stdout.trimEnd().split('\n');
    const t = (side: string, key: string, v: string) => find(side, key, v).lastModified.toISOString();
    const versionLines = [
      `+ /new.txt  version ${id.fresh}  ${t('b', 'new.txt', id.fresh!)}  4 B  latest`,
      `- /old.txt  version ${id.old1}  ${t('a', 'old.txt', id.old1!)}  6 B`,
      `+ /docs/a.txt  version ${id.a3}  ${t('b', 'docs/a.txt', id.a3!)}  12 B  latest`,
      `+ /docs/b.txt  delete-marker ${id.bMarker}  ${t('b', 'docs/b.txt', id.bMarker!)}  latest`,
    ];
    // The versions tree's changes come where it sorts in the tree: after the root's files.
    expect(lines).toEqual([
      '~ /  (mtime)',
      '~ /docs/  (mtime)',
      '+ /new.txt',
      ...versionLines,
      '~ /docs/a.txt  (content, mtime, metadata)',
      expect.stringMatching(/^ {4}~ etag: \w+ -> \w+$/),
      `    ~ s3.version-id: ${id.a2} -> ${id.a3}`,
      '- /docs/b.txt',
    ]);
    expect(r.stderr).toContain(`5 differences, 4 version changes from ${snap.a}:/ to ${snap.b}:/`);
  });

  it('diff A:PATH B:PATH on a key: its file of the plain tree, then its versions', async () => {
    const r = ok(await k(['at', store, 'diff', `${snap.a}:/docs/a.txt`, `${snap.b}:/docs/a.txt`]));
    const time = find('b', 'docs/a.txt', id.a3!).lastModified.toISOString();
    expect(r.stdout.trimEnd().split('\n')).toEqual([
      '~ /docs/a.txt  (content, mtime, metadata)',
      expect.stringMatching(/^ {4}~ etag: \w+ -> \w+$/),
      `    ~ s3.version-id: ${id.a2} -> ${id.a3}`,
      `+ /docs/a.txt  version ${id.a3}  ${time}  12 B  latest`,
    ]);
    expect(r.stderr).toContain(
      `1 difference, 1 version change from ${snap.a}:/docs/a.txt to ${snap.b}:/docs/a.txt`,
    );
    const records = jsonLines(
      ok(await k(['at', store, 'diff', '-json', `${snap.a}:/docs/a.txt`, `${snap.b}:/docs/a.txt`])).stdout,
    );
    expect(records.map((j) => [j.change, j.path === '/docs/a.txt' ? j.path : j.key_path])).toEqual([
      ['changed', '/docs/a.txt'],
      ['version_added', '/docs/a.txt'],
    ]);
    expect(records[0]).toMatchObject({ type: 'file', fields: ['content', 'mtime', 'metadata'] });
    // A key deleted on the second side: its file removed, its delete marker added.
    const gone = ok(await k(['at', store, 'diff', `${snap.a}:/docs/b.txt`, `${snap.b}:/docs/b.txt`]));
    expect(gone.stdout.trimEnd().split('\n')).toEqual([
      '- /docs/b.txt',
      expect.stringMatching(new RegExp(`^\\+ /docs/b\\.txt  delete-marker ${id.bMarker}  \\S+Z  latest$`)),
    ]);
  });

  it('diff A:PATH B:PATH on a folder: the versions of the keys below it, not of the others', async () => {
    const records = jsonLines(
      ok(await k(['at', store, 'diff', '-json', `${snap.a}:/docs`, `${snap.b}:/docs`])).stdout,
    );
    expect(records.filter(isVersionChange).map(pick)).toEqual([
      expected('version_added', 'b', 'docs/a.txt', id.a3!),
      expected('version_added', 'b', 'docs/b.txt', id.bMarker!),
    ]);
    expect(records.filter((r) => !isVersionChange(r)).map((r) => [r.change, r.path])).toEqual([
      ['changed', '/docs'],
      ['changed', '/docs/a.txt'],
      ['removed', '/docs/b.txt'],
    ]);
  });

  it('from a versions=latest snapshot to a versions=all one, every version shows as added', async () => {
    const records = jsonLines(ok(await k(['at', store, 'diff', '-json', snap.latest!, snap.a!])).stdout);
    const versions = records.filter(isVersionChange).map(pick);
    const all = listed.a!.map((v) => `${v.key} ${v.versionId} ${v.isLatest}`).sort();
    expect(versions.map((v) => `${v.key} ${v.version_id} ${v.latest}`).sort()).toEqual(all);
    expect(versions.every((v) => v.change === 'version_added')).toBe(true);
    expect(records.filter((r) => !isVersionChange(r)).map((r) => r.path)).toEqual([]);
    // And back: every version removed.
    const back = jsonLines(ok(await k(['at', store, 'diff', '-json', snap.a!, snap.latest!])).stdout);
    expect(back.filter(isVersionChange).map((r) => r.change)).toEqual(all.map(() => 'version_removed'));
  });
});
