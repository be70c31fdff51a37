/**
 * `backup -exclude/-include` and `-dry-run` of a bucket (Ceph RGW, KLOSET_S3_ENV), through the
 * built binary: the keys are filtered as snapshot paths at every depth, an excluded prefix is
 * left out with all under it, and a dry run reports the counts and writes nothing to the store.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { s3TestBuckets, seedObjects } from '@kloset/s3-common/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliHome, klosetIn, makeCliHome, ok, removeDir } from './helpers/cli-home.ts';
import { jsonLines } from './helpers/run.ts';
import { describeTree } from './helpers/tree.ts';

const s3 = s3TestBuckets();
const { env, client } = s3;

/** Key -> size. */
const KEYS: Record<string, number> = {
  'top.txt': 100,
  'top.log': 200,
  'a/one.txt': 300,
  'a/two.log': 400,
  'a/b/three.txt': 500,
  'a/b/c/four.txt': 600,
  'a/b/c/five.bin': 700,
  'skip/x.txt': 800,
  'skip/deep/y.txt': 900,
  'docs/readme.md': 1000,
};

let home: CliHome;
let k: ReturnType<typeof klosetIn>;
let store: string;

async function snapshotPaths(): Promise<string[]> {
  const r = ok(await k(['at', store, 'ls', '-json', '-recursive', 'latest']));
  return jsonLines(r.stdout)
    .map((e) => e.path as string)
    .sort();
}

const sorted = (paths: readonly string[]) => [...paths].sort();

beforeAll(async () => {
  await s3.ready();
  home = await makeCliHome('filters-s3');
  // Only what the test says: no proxy or CA bundle of the machine.
  k = klosetIn(home, {
    KLOSET_PASSPHRASE: 'bucket filters',
    HTTPS_PROXY: '',
    HTTP_PROXY: '',
    https_proxy: '',
    http_proxy: '',
    AWS_CA_BUNDLE: '',
  });
  const installing = k(['pkg', 'add', 's3']);
  const bucket = await s3.create('filters-src');
  await seedObjects(
    client,
    bucket,
    '',
    Object.entries(KEYS).map(([key, size]) => ({ key, body: randomBytes(size) })),
  );
  ok(await installing);
  ok(
    await k([
      'source',
      'add',
      'bucket',
      `location=s3://${env.host}/${bucket}`,
      `access_key=${env.accessKey}`,
      `secret_access_key=${env.secretKey}`,
      'use_tls=false',
    ]),
  );
  store = join(home.dir, 'store');
  ok(await k(['at', store, 'create']));
}, 180_000);

afterAll(async () => {
  await s3.dispose();
  await removeDir(home?.dir);
});

describe('backup of a bucket with filters', () => {
  it('leaves out the keys the excludes match, at any depth, and an excluded prefix with all under it', async () => {
    const r = ok(
      await k([
        'at',
        store,
        'backup',
        '-json',
        '-exclude',
        '*.log',
        '-exclude',
        '/skip',
        '-exclude',
        'c/',
        '@bucket',
      ]),
    );
    const summary = (jsonLines(r.stdout)[0]!.snapshot as { summary: { files: number; bytes: number } })
      .summary;
    expect(await snapshotPaths()).toEqual(
      sorted(['/top.txt', '/a', '/a/one.txt', '/a/b', '/a/b/three.txt', '/docs', '/docs/readme.md']),
    );
    expect(summary).toMatchObject({ files: 4, bytes: 100 + 300 + 500 + 1000 });
  });

  it('keeps only the included keys, directories kept unless excluded', async () => {
    ok(
      await k([
        'at',
        store,
        'backup',
        '-include',
        '*.txt',
        '-exclude',
        'deep/',
        '-exclude',
        '/a/b/c',
        '@bucket',
      ]),
    );
    expect(await snapshotPaths()).toEqual(
      sorted(['/top.txt', '/a', '/a/one.txt', '/a/b', '/a/b/three.txt', '/skip', '/skip/x.txt', '/docs']),
    );
  });

  it('-dry-run reports the counts of the filtered bucket and writes nothing to the store', async () => {
    const before = await describeTree(store);
    const r = ok(await k(['at', store, 'backup', '-json', '-dry-run', '-include', '/a/**', '@bucket']));
    expect(jsonLines(r.stdout)).toEqual([
      expect.objectContaining({
        dry_run: true,
        files: 5,
        // Every directory but what is excluded: /, /a, /a/b, /a/b/c, /skip, /skip/deep, /docs.
        directories: 7,
        bytes: 300 + 400 + 500 + 600 + 700,
        errors: 0,
        // The last backup (of this bucket) kept /a/one.txt and /a/b/three.txt unchanged.
        unchanged_files: 2,
        unchanged_bytes: 300 + 500,
      }),
    ]);
    expect(await describeTree(store)).toEqual(before);
  });
});
