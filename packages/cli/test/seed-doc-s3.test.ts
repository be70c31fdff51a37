/**
 * Every command line of the S3 integration's documentation (Plakar's, with kloset in place of
 * plakar), through the built binary against the S3 test server (Ceph RGW): pkg build / add / list /
 * rm / add, source add (with and without passphrase=), backup "@my-s3-bucket" into a path store,
 * store add + create + backup of a directory, destination add + restore -to "@my-s3-restore";
 * the restored bucket is compared with the original object by object with an independent client.
 * Also the ping commands, and an unreachable endpoint (one line; retries logged only when asked).
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  deleteTestBucket,
  demoObjects,
  plainS3Client,
  readS3TestEnv,
  requireS3,
  type S3TestEnv,
  seedBucket,
  seedObjects,
  trickyObjects,
  uniqueBucketName,
  viewObjects,
} from '@kloset/s3-common/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliHome, failsInOneLine, klosetIn, makeCliHome, ok, removeDir } from './helpers/cli-home.ts';
import { jsonLines } from './helpers/run.ts';
import { describeTree, makeSampleTree } from './helpers/tree.ts';

/** Typed as passphrase='<YOUR_ENCRYPTION_PASSPHRASE>' in the documentation: the shell drops the quotes. */
const PASSPHRASE = `it's "quoted" & spaced`;

let env: S3TestEnv;
let s3: S3Client;
let creds: string[];
let home: CliHome;
let k: ReturnType<typeof klosetIn>;
const buckets = {
  source: uniqueBucketName('seed-src'),
  store: uniqueBucketName('seed-store'),
  restore: uniqueBucketName('seed-rst'),
};
const loc = (bucket: string) => `location=s3://${env.host}/${bucket}`;
/** The demo objects and, under tricky/, keys that are not valid paths, with headers, metadata, tags. */
const TRICKY = 'tricky/';
const objectCount = (): number => demoObjects().length + trickyObjects(1024 - TRICKY.length).length;
let pathStore: string;
let snapshotId: string;

beforeAll(async () => {
  env = readS3TestEnv();
  await requireS3(env);
  s3 = plainS3Client(env);
  creds = [`access_key=${env.accessKey}`, `secret_access_key=${env.secretKey}`];
  home = await makeCliHome('seed-doc');
  // The passphrase comes from the environment unless a test takes it away.
  k = klosetIn(home, { KLOSET_PASSPHRASE: PASSPHRASE });
  pathStore = join(home.dir, 'var', 'backups');
  await seedBucket(s3, buckets.source);
  await seedObjects(s3, buckets.source, TRICKY, trickyObjects(1024 - TRICKY.length));
  await s3.send(new CreateBucketCommand({ Bucket: buckets.store }));
});

afterAll(async () => {
  for (const b of Object.values(buckets)) await deleteTestBucket(s3, b);
  s3.destroy();
});
afterAll(() => removeDir(home?.dir));

describe('the S3 integration documentation, line by line', () => {
  it('kloset pkg build s3; pkg add ./ARCHIVE; pkg list; pkg rm s3; pkg add s3; pkg list', async () => {
    const built = ok(await k(['pkg', 'build', 's3']));
    const [archive] = await readdir(home.work);
    expect(archive).toMatch(/^s3_v\d+\.\d+\.\d+_[a-z0-9]+_[a-z0-9]+\.tgz$/);
    expect(built.stdout).toContain(archive);
    ok(await k(['pkg', 'add', `./${archive}`]));
    expect(ok(await k(['pkg', 'list'])).stdout).toMatch(/^s3 +\S+ +\S+ +source,storage,destination +s3$/m);
    ok(await k(['pkg', 'rm', 's3']));
    expect(ok(await k(['pkg', 'list'])).stdout).not.toMatch(/^s3 /m);
    ok(await k(['pkg', 'add', 's3']));
    expect(ok(await k(['pkg', 'list'])).stdout).toMatch(/^s3 +\S+ +\S+ +source,storage,destination +s3$/m);
  });

  it('source add with use_tls=true (as documented) is accepted; against a plain-HTTP server it fails in one line', async () => {
    ok(await k(['source', 'add', 'tls-bucket', loc(buckets.source), ...creds, 'use_tls=true']));
    const shown = jsonLines(ok(await k(['source', 'show', '-json', 'tls-bucket'])).stdout)[0]!;
    expect(shown.options).toMatchObject({ use_tls: 'true', secret_access_key: '********' });
    const ping = failsInOneLine(await k(['source', 'ping', 'tls-bucket']));
    expect(ping).toMatch(
      new RegExp(`^kloset: source @tls-bucket \\(s3://${env.host}/${buckets.source}\\): `),
    );
    ok(await k(['source', 'rm', 'tls-bucket']));
  });

  it('source add my-s3-bucket ...; kloset at /var/backups backup "@my-s3-bucket"', async () => {
    ok(await k(['source', 'add', 'my-s3-bucket', loc(buckets.source), ...creds, 'use_tls=false']));
    ok(await k(['at', pathStore, 'create']));
    const r = ok(await k(['at', pathStore, 'backup', '-json', '@my-s3-bucket']));
    const snap = jsonLines(r.stdout)[0]!.snapshot as {
      id: string;
      summary: { files: number; errors: number };
    };
    expect(snap.summary).toMatchObject({ files: objectCount(), errors: 0 });
    snapshotId = snap.id;
  });

  it("source add my-s3-bucket ... passphrase='...': the backup needs no other passphrase", async () => {
    const noEnv = { KLOSET_PASSPHRASE: '' };
    expect(failsInOneLine(await k(['at', pathStore, 'backup', '@my-s3-bucket'], noEnv))).toMatch(
      /^kloset: a passphrase is needed/,
    );
    ok(await k(['source', 'rm', 'my-s3-bucket']));
    ok(
      await k([
        'source',
        'add',
        'my-s3-bucket',
        loc(buckets.source),
        ...creds,
        `passphrase=${PASSPHRASE}`,
        'use_tls=false',
      ]),
    );
    const r = ok(await k(['at', pathStore, 'backup', '-json', '@my-s3-bucket'], noEnv));
    expect(jsonLines(r.stdout)[0]!.snapshot).toMatchObject({ summary: { files: objectCount() } });
    ok(await k(['source', 'set', 'my-s3-bucket', 'passphrase=not the one']));
    expect(failsInOneLine(await k(['at', pathStore, 'backup', '@my-s3-bucket'], noEnv))).toBe(
      `kloset: wrong passphrase (from passphrase= of source @my-s3-bucket) for store ${pathStore}`,
    );
    ok(await k(['source', 'set', 'my-s3-bucket', `passphrase=${PASSPHRASE}`]));
  });

  it('store add my-s3-store ...; kloset at "@my-s3-store" create; kloset at "@my-s3-store" backup /var/www', async () => {
    const www = join(home.dir, 'var', 'www');
    await makeSampleTree(www, 1 << 20);
    ok(await k(['store', 'add', 'my-s3-store', loc(buckets.store), ...creds, 'use_tls=false']));
    expect(jsonLines(ok(await k(['store', 'ping', '-json', 'my-s3-store'])).stdout)[0]).toMatchObject({
      reachable: true,
      store: false,
      empty: true,
    });
    ok(await k(['at', '@my-s3-store', 'create']));
    const r = ok(await k(['at', '@my-s3-store', 'backup', '-json', www]));
    const id = (jsonLines(r.stdout)[0]!.snapshot as { id: string }).id;
    expect(jsonLines(ok(await k(['store', 'ping', '-json', 'my-s3-store'])).stdout)[0]).toMatchObject({
      kind: 'store',
      name: 'my-s3-store',
      reachable: true,
      store: true,
      empty: false,
      snapshots: 1,
      mode: 'read-write',
    });
    const back = join(home.dir, 'www-restored');
    ok(await k(['at', '@my-s3-store', 'restore', '-to', back, id]));
    expect(await describeTree(back)).toEqual(await describeTree(www));
  });

  it('destination add my-s3-restore ...; kloset at /var/backups restore -to "@my-s3-restore" <snapshot_id>', async () => {
    ok(await k(['destination', 'add', 'my-s3-restore', loc(buckets.restore), ...creds, 'use_tls=false']));
    ok(await k(['at', pathStore, 'restore', '-to', '@my-s3-restore', snapshotId]));
    const original = await viewObjects(s3, buckets.source, '');
    expect(original.size).toBe(objectCount());
    const restored = await viewObjects(s3, buckets.restore, '');
    expect(restored).toEqual(original);
    // The comparison sees user metadata alone: change it on one restored object.
    await s3.send(
      new PutObjectCommand({
        Bucket: buckets.restore,
        Key: 'index.html',
        Body: '<h1>kloset demo</h1>\n',
        ContentType: 'text/html; charset=utf-8',
        CacheControl: 'max-age=300',
        Metadata: { note: 'x' },
      }),
    );
    const changed = await viewObjects(s3, buckets.restore, '');
    expect(changed).not.toEqual(original);
    expect(
      [...changed]
        .filter(([key, v]) => JSON.stringify(v) !== JSON.stringify(original.get(key)))
        .map(([key]) => key),
    ).toEqual(['index.html']);
  });
});

describe('ping', () => {
  it('source ping counts the first entries of the bucket', async () => {
    const r = jsonLines(ok(await k(['source', 'ping', '-json', 'my-s3-bucket'])).stdout)[0]!;
    expect(r).toMatchObject({
      kind: 'source',
      name: 'my-s3-bucket',
      location: `s3://${env.host}/${buckets.source}`,
      reachable: true,
      files: objectCount(),
      errors: 0,
      complete: true,
    });
    expect((r.sample as string[]).length).toBe(3);
    const human = ok(await k(['source', 'ping', '@my-s3-bucket'])).stdout;
    expect(human).toMatch(
      new RegExp(
        `^source @my-s3-bucket \\(s3://${env.host}/${buckets.source}\\): reachable, \\d+ entries: ${objectCount()} files \\(`,
      ),
    );
    expect(human.split('\n')).toHaveLength(2);
  });

  it('destination ping: reachable, writability unknown for S3; known for a local directory', async () => {
    expect(jsonLines(ok(await k(['destination', 'ping', '-json', 'my-s3-restore'])).stdout)[0]).toMatchObject(
      {
        kind: 'destination',
        reachable: true,
        writable: null,
      },
    );
    ok(await k(['destination', 'add', 'local', join(home.dir, 'not-yet', 'there')]));
    expect(jsonLines(ok(await k(['destination', 'ping', '-json', 'local'])).stdout)[0]).toMatchObject({
      reachable: true,
      writable: true,
    });
  });

  it('an unreachable endpoint: one line and exit 1; storage retries on stderr only with -verbose or KLOSET_DEBUG', async () => {
    const down = ['location=s3://127.0.0.1:9/no-such-bucket', ...creds, 'use_tls=false'];
    ok(await k(['store', 'add', 'down', ...down]));
    ok(await k(['source', 'add', 'down', ...down]));
    ok(await k(['destination', 'add', 'down', ...down]));
    const [store, verbose, debug, source, destination] = await Promise.all([
      k(['store', 'ping', 'down']),
      k(['store', 'ping', '-verbose', 'down']),
      k(['store', 'ping', 'down'], { KLOSET_DEBUG: '1' }),
      k(['source', 'ping', 'down']),
      k(['destination', 'ping', 'down']),
    ]);
    const unreachable = /cannot reach http:\/\/127\.0\.0\.1:9/;
    expect(failsInOneLine(store)).toMatch(
      /^kloset: store @down \(s3:\/\/127\.0\.0\.1:9\/no-such-bucket\): S3 GetObject/,
    );
    expect(failsInOneLine(store)).toMatch(unreachable);
    expect(failsInOneLine(source)).toMatch(unreachable);
    expect(failsInOneLine(destination)).toMatch(unreachable);
    const retries = (r: { stderr: string }) =>
      r.stderr.split('\n').filter((l) => /; retrying in \d+ ms$/.test(l));
    expect(retries(store)).toEqual([]);
    expect(verbose.code).toBe(1);
    expect(retries(verbose).length).toBeGreaterThanOrEqual(2);
    expect(retries(verbose)[0]).toMatch(/^kloset: @down: open config failed \(attempt 1: .*cannot reach/);
    expect(verbose.stderr.trimEnd().split('\n').at(-1)).toMatch(
      /^kloset: store @down .*gave up after \d+ attempts/,
    );
    expect(debug.code).toBe(1);
    expect(retries(debug).length).toBe(retries(verbose).length);
  });
});
