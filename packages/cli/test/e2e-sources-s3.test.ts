/**
 * Snapshots told apart, through the built binary against the S3 test server (Ceph RGW): a store
 * holding backups of two buckets (named sources) and of one directory. `ls` shows each name and
 * source, human and -json; `restore -to @dest latest` lists the sources and exits 2 (writing
 * nothing); `-source @bucket-a` restores bucket A (compared object by object with an independent
 * client), `-source DIR` chooses the directory's snapshots, and a bucket snapshot taken before
 * named sources named their snapshots (named `/`) is found by `-source @NAME` through its origin.
 */
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import * as s3t from '@kloset/s3-common/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliHome, failsInOneLine, klosetIn, makeCliHome, ok, removeDir } from './helpers/cli-home.ts';
import { jsonLines } from './helpers/run.ts';
import { describeTree, makeSampleTree } from './helpers/tree.ts';

let env: s3t.S3TestEnv;
let s3: S3Client;
let home: CliHome;
let k: ReturnType<typeof klosetIn>;
const buckets = {
  a: s3t.uniqueBucketName('src-a'),
  b: s3t.uniqueBucketName('src-b'),
  dest: s3t.uniqueBucketName('src-dst'),
  single: s3t.uniqueBucketName('src-one'),
};
/** Objects only bucket B holds. */
const B_KEYS = ['b-only/one.txt', 'b-only/two.txt'];
let store: string;
let dir: string;
const ids: Record<'oldA' | 'a' | 'b' | 'dir', string> = { oldA: '', a: '', b: '', dir: '' };

interface Snap {
  id: string;
  name: string;
  source: { protocol: string; origin: string; root: string };
}

async function backup(argv: string[]): Promise<Snap> {
  return jsonLines(ok(await k(['at', store, 'backup', '-json', ...argv])).stdout)[0]!.snapshot as Snap;
}

beforeAll(async () => {
  env = s3t.readS3TestEnv();
  await s3t.requireS3(env);
  s3 = s3t.plainS3Client(env);
  home = await makeCliHome('sources');
  // Credentials come from the named configurations only: nothing from the test's environment.
  k = klosetIn(home, {
    KLOSET_PASSPHRASE: 'sources test',
    AWS_ACCESS_KEY_ID: '',
    AWS_SECRET_ACCESS_KEY: '',
    AWS_CA_BUNDLE: '',
    TZ: 'UTC',
  });
  ok(await k(['pkg', 'add', 's3']));
  store = join(home.dir, 'var', 'backups');
  dir = join(home.dir, 'srv', 'www');
  await makeSampleTree(dir, 100_000);
  await s3t.seedBucket(s3, buckets.a);
  await s3.send(new CreateBucketCommand({ Bucket: buckets.b }));
  for (const key of B_KEYS) await s3.send(new PutObjectCommand({ Bucket: buckets.b, Key: key, Body: key }));
  await s3.send(new CreateBucketCommand({ Bucket: buckets.dest }));
  const creds = [`access_key=${env.accessKey}`, `secret_access_key=${env.secretKey}`, 'use_tls=false'];
  const loc = (bucket: string) => `location=s3://${env.host}/${bucket}`;
  ok(await k(['source', 'add', 'bucket-a', loc(buckets.a), ...creds]));
  ok(await k(['source', 'add', 'bucket-b', loc(buckets.b), ...creds]));
  ok(await k(['destination', 'add', 'dest', loc(buckets.dest), ...creds]));
  ok(await k(['destination', 'add', 'single', loc(buckets.single), ...creds]));
  ok(await k(['at', store, 'create']));
  // As bucket A was backed up before named sources named their snapshots: named "/".
  ids.oldA = (await backup(['-name', '/', '@bucket-a'])).id;
  const a = await backup(['@bucket-a']);
  expect(a).toMatchObject({
    name: '@bucket-a',
    source: { protocol: 's3', origin: `${env.host}/${buckets.a}` },
  });
  ids.a = a.id;
  ids.dir = (await backup([dir])).id;
  // Bucket B last: "latest" of the whole store would be B's.
  ids.b = (await backup(['@bucket-b'])).id;
}, 300_000);

afterAll(async () => {
  await Promise.all(Object.values(buckets).map((bucket) => s3t.deleteTestBucket(s3, bucket)));
  s3.destroy();
  await removeDir(home?.dir);
});

describe('a store holding two buckets and a directory', () => {
  it('ls tells them apart: name and source in aligned columns, and in -json', async () => {
    const lines = ok(await k(['at', store, 'ls']))
      .stdout.trimEnd()
      .split('\n');
    const columns = lines.map((l) => l.split(/ {2,}/).slice(4));
    expect(columns).toEqual([
      ['/', `s3://${env.host}/${buckets.a}`],
      ['@bucket-a', `s3://${env.host}/${buckets.a}`],
      [dir, dir],
      ['@bucket-b', `s3://${env.host}/${buckets.b}`],
    ]);
    // The source column starts at the same place on every line.
    const at = lines.map((l, i) => l.lastIndexOf(columns[i]![1]!));
    expect(new Set(at).size).toBe(1);
    const json = jsonLines(ok(await k(['at', store, 'ls', '-json'])).stdout) as unknown as Snap[];
    expect(json.map((s) => [s.id, s.name, s.source])).toEqual([
      [ids.oldA, '/', { protocol: 's3', origin: `${env.host}/${buckets.a}`, root: '/' }],
      [ids.a, '@bucket-a', { protocol: 's3', origin: `${env.host}/${buckets.a}`, root: '/' }],
      [ids.dir, dir, { protocol: 'fs', origin: expect.any(String), root: dir }],
      [ids.b, '@bucket-b', { protocol: 's3', origin: `${env.host}/${buckets.b}`, root: '/' }],
    ]);
  });

  it('restore -to @dest latest: the list of sources, exit 2, nothing restored', async () => {
    const r = await k(['at', store, 'restore', '-to', '@dest', 'latest']);
    expect(r.code, r.stderr).toBe(2);
    const [first, ...sources] = r.stderr.trimEnd().split('\n');
    expect(first).toBe(
      'kloset: "latest" is ambiguous: the snapshots it is chosen from come from 3 sources; choose one with -source, or give a snapshot id:',
    );
    const esc = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const row = (name: string, where: string, id: string, count: string, flag: string) =>
      new RegExp(
        `^  ${esc(name)} +${esc(where)} +${id.slice(0, 8)} +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d +${count} +-source ${esc(flag)}$`,
      );
    expect(sources).toHaveLength(3);
    expect(sources[0]).toMatch(
      row('@bucket-b', `s3://${env.host}/${buckets.b}`, ids.b, '1 snapshot', '@bucket-b'),
    );
    expect(sources[1]).toMatch(row(dir, dir, ids.dir, '1 snapshot', dir));
    expect(sources[2]).toMatch(
      row('@bucket-a', `s3://${env.host}/${buckets.a}`, ids.a, '2 snapshots', '@bucket-a'),
    );
    expect((await s3t.viewObjects(s3, buckets.dest, '')).size).toBe(0);
    // Every command that takes latest answers the same.
    const ls = await k(['at', store, 'ls', 'latest']);
    expect([ls.code, ls.stderr]).toEqual([2, r.stderr]);
  });

  it('restore -to @dest -source @bucket-a latest restores bucket A, object by object', async () => {
    const r = ok(
      await k(['at', store, 'restore', '-json', '-to', '@dest', '-source', '@bucket-a', 'latest']),
    );
    expect(jsonLines(r.stdout)[0]).toMatchObject({ snapshot: ids.a, failed_count: 0 });
    const original = await s3t.viewObjects(s3, buckets.a, '');
    expect(original.size).toBe(s3t.demoObjects().length);
    expect(await s3t.viewObjects(s3, buckets.dest, '')).toEqual(original);
  });

  it('-source @NAME finds the snapshots named "/" by their origin; a URL chooses as well', async () => {
    const list = async (...argv: string[]) =>
      (jsonLines(ok(await k(['at', store, 'ls', '-json', ...argv])).stdout) as unknown as Snap[]).map(
        (s) => s.id,
      );
    expect(await list('-source', '@bucket-a')).toEqual([ids.oldA, ids.a]);
    expect(await list('-source', `s3://${env.host}/${buckets.b}`)).toEqual([ids.b]);
    expect(await list('-source', '@bucket-a', '-name', '/')).toEqual([ids.oldA]);
  });

  it('-source DIR chooses the directory: ls, and restore latest', async () => {
    const list = jsonLines(ok(await k(['at', store, 'ls', '-json', '-source', dir])).stdout);
    expect(list.map((s) => s.id)).toEqual([ids.dir]);
    const out = join(home.dir, 'www-restored');
    ok(await k(['at', store, 'restore', '-to', out, '-source', dir, 'latest']));
    expect(await describeTree(out)).toEqual(await describeTree(dir));
  });

  it('an unknown -source @NAME is one line, exit 1', async () => {
    expect(failsInOneLine(await k(['at', store, 'ls', '-source', '@nope']))).toBe(
      'kloset: unknown source @nope (known sources: bucket-a, bucket-b)',
    );
  });
});

describe('a store holding one source', () => {
  it('restore -to @NAME latest works as before, whatever the names of its snapshots', async () => {
    const one = join(home.dir, 'one-store');
    ok(await k(['at', one, 'create']));
    ok(await k(['at', one, 'backup', '-name', '/', '@bucket-b']));
    const newest = jsonLines(ok(await k(['at', one, 'backup', '-json', '@bucket-b'])).stdout)[0]!
      .snapshot as Snap;
    await s3.send(new CreateBucketCommand({ Bucket: buckets.single }));
    const r = ok(await k(['at', one, 'restore', '-json', '-to', '@single', 'latest']));
    expect(jsonLines(r.stdout)[0]).toMatchObject({ snapshot: newest.id, failed_count: 0 });
    expect([...(await s3t.viewObjects(s3, buckets.single, '')).keys()].sort()).toEqual(B_KEYS);
  });
});
