/**
 * Every path through the built binary between local directories and S3 (Ceph RGW): sources {a
 * directory, a bucket as @NAME} x stores {a local path, an S3 store as @NAME} x destinations {a
 * directory, a bucket as @NAME}, with the passphrase from KLOSET_PASSPHRASE, -keyfile FILE,
 * passphrase= of the store configuration and passphrase= of the source configuration; sync from a
 * local store to an S3 store and back; check on every store; cat and diff on S3 stores.
 *
 * Each combination has its own store and runs beside the others. A restored bucket is compared
 * with an independent client (keys, bodies, Content-* headers, Cache-Control, Expires, user
 * metadata, tags); a restored directory by contents, modes, mtimes and symlinks. The S3 package
 * is installed the way a user does it (`kloset pkg add s3`); the configuration is written once,
 * before the combinations start (concurrent `store add` would race on the configuration file).
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmod, cp, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  demoObjects,
  type ObjectView,
  s3TestBuckets,
  seedBucket,
  seedObjects,
  trickyObjects,
  viewObjects,
} from '@kloset/s3-common/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliHome, failsInOneLine, klosetIn, makeCliHome, ok, removeDir } from './helpers/cli-home.ts';
import { jsonLines } from './helpers/run.ts';
import { byPath, lastModified, objectsOfTree, treeOfBucket } from './helpers/s3-expect.ts';
import type { SpawnResult } from './helpers/spawn.ts';
import { describeTree, makeBigTree, makeSampleTree, type TreeItem } from './helpers/tree.ts';

const s3 = s3TestBuckets();
const { env, client } = s3;
const MiB = 1 << 20;
/** The tricky keys (not valid paths, every header, metadata, tags) go under this prefix. */
const TRICKY = 'tricky/';
/** RGW's Content-Type for an object put without one (a file of a directory restored into a bucket). */
const SERVER_DEFAULT_CONTENT_TYPE = 'binary/octet-stream';

let home: CliHome;
let k: ReturnType<typeof klosetIn>;
let sourceBucket: string;
/** The source bucket as an independent client sees it. */
let original: Map<string, ObjectView>;
let bucketTree: ReturnType<typeof treeOfBucket>;
/** The local directory source, and what describeTree sees of it. */
let tree: string;
let treeItems: TreeItem[];
let treeObjects: Map<string, ObjectView>;
const SYMLINKS = ['/dangling', '/link-to-readme'];

/** A different passphrase per store, some with what a shell or a config file could mangle. */
const PASS = {
  a: 'alpha env passphrase',
  b: 'bravo keyfile',
  c: `charlie "store" config's`,
  d: 'delta = source & config',
  e: 'echo keyfile relative',
  f: 'foxtrot s3 store config',
  g: 'golf all three',
  sync1: 'sync one',
  sync2: 'sync two % s3',
  sync3: 'sync three keyfile',
} as const;

/** Named stores, sources and destinations: the configuration written before any test runs. */
const store = (id: string) => `${id}-store`;
const dest = (id: string) => `${id}-dest`;
const storeDir = (id: string) => join(home.dir, 'stores', id);
const destDir = (id: string) => join(home.dir, 'restored', id);
const keyfile = (id: string) => join(home.work, 'keys', `${id}.txt`);
/** S3 destination buckets by name, for comparing after the restore created them. */
const destBuckets = new Map<string, string>();

function creds(bucket: string): string[] {
  return [
    `location=s3://${env.host}/${bucket}`,
    `access_key=${env.accessKey}`,
    `secret_access_key=${env.secretKey}`,
    'use_tls=false',
  ];
}

/** The backed-up snapshot's id and summary. */
function snapshotOf(r: SpawnResult): { id: string; summary: { files: number; errors: number } } {
  return jsonLines(ok(r).stdout)[0]!.snapshot as { id: string; summary: { files: number; errors: number } };
}

interface RestoreJson {
  entries: number;
  failed: { path: string; error: string }[];
  failed_count: number;
  corrupt: number;
}

/** A restore that exits `code` (3: some entries could not be written), its JSON. */
function restored(r: SpawnResult, code: number): RestoreJson {
  expect(r.timedOut).toBe(false);
  expect(r.code, r.stderr).toBe(code);
  const out = jsonLines(r.stdout)[0] as unknown as RestoreJson;
  expect(out.corrupt).toBe(0);
  expect(out.failed_count).toBe(out.failed.length);
  return out;
}

/** A bucket snapshot restored into a directory: every object but those no file name can hold. */
async function expectBucketInDir(r: SpawnResult, dir: string): Promise<void> {
  const out = restored(r, bucketTree.unwritable.length > 0 ? 3 : 0);
  expect(out.failed.map((f) => f.path).sort()).toEqual(bucketTree.unwritable);
  for (const f of out.failed) expect(f.error).toMatch(/: name too long \(ENAMETOOLONG\)$/);
  expect(byPath(await describeTree(dir))).toEqual(bucketTree.items);
}

/** A bucket snapshot restored into a bucket: the same objects, headers, metadata and tags. */
async function expectBucketInBucket(r: SpawnResult, bucket: string): Promise<void> {
  restored(r, 0);
  expect(await viewObjects(client, bucket, '')).toEqual(original);
}

/** The directory snapshot restored into a directory: the same tree. */
async function expectTreeInDir(r: SpawnResult, dir: string, items = treeItems): Promise<void> {
  restored(r, 0);
  expect(await describeTree(dir)).toEqual(items);
}

/** The directory snapshot restored into a bucket: its files as objects, its symlinks refused. */
async function expectTreeInBucket(r: SpawnResult, bucket: string): Promise<void> {
  const out = restored(r, 3);
  expect(out.failed.map((f) => f.path).sort()).toEqual(SYMLINKS);
  for (const f of out.failed) {
    expect(f.error).toBe(
      `S3 destination s3://${env.host}/${bucket}: a symlink cannot be restored as an object`,
    );
  }
  expect(await viewObjects(client, bucket, '')).toEqual(treeObjects);
}

/** `check` of every snapshot of a store: nothing wrong. */
function expectChecked(r: SpawnResult, snapshots: number): void {
  expect(jsonLines(ok(r).stdout)[0]).toMatchObject({ ok: true, fast: false, snapshots, problem_count: 0 });
}

beforeAll(async () => {
  await s3.ready();
  home = await makeCliHome('s3-matrix');
  k = klosetIn(home);
  // Installed the way a user does it (built from the checkout), while the test data is made.
  const installing = k(['pkg', 'add', 's3']);

  sourceBucket = await s3.create('mx-src');
  await seedBucket(client, sourceBucket);
  await seedObjects(client, sourceBucket, TRICKY, trickyObjects(1024 - TRICKY.length));
  // Above the S3 destination's multipart threshold (8 MiB): parts, and tags put apart.
  await seedObjects(client, sourceBucket, '', [
    {
      key: 'big/multipart.bin',
      body: randomBytes(9 * MiB + 5),
      multipartPartSize: 5 * MiB,
      contentType: 'application/x-big',
      contentDisposition: 'attachment; filename="big.bin"',
      cacheControl: 'no-store',
      expires: new Date(Date.UTC(2032, 5, 6, 7, 8, 9)),
      metadata: { parts: 'two' },
      tags: { size: 'big', 'with space': 'a/b' },
    },
  ]);
  original = await viewObjects(client, sourceBucket, '');
  expect(original.size).toBe(demoObjects().length + trickyObjects(1024 - TRICKY.length).length + 1);
  bucketTree = treeOfBucket(original, await lastModified(client, sourceBucket));

  tree = join(home.dir, 'tree');
  await makeSampleTree(tree, 3 * MiB);
  await makeBigTree(join(tree, 'many'), 24, 1500, 4);
  await mkdir(join(tree, 'pct'));
  await writeFile(join(tree, 'pct', '100% sure.txt'), 'percent\n');
  await writeFile(join(tree, 'pct', '%41'), 'not an escape\n');
  treeItems = await describeTree(tree);
  treeObjects = await objectsOfTree(tree, treeItems, SERVER_DEFAULT_CONTENT_TYPE);

  await mkdir(join(home.work, 'keys'));
  for (const id of ['b', 'e', 'g', 'sync2', 'sync3'] as const) await writeFile(keyfile(id), `${PASS[id]}\n`);
  ok(await installing);

  // The configuration, one command at a time.
  const add = async (kind: string, name: string, ...options: string[]) =>
    ok(await k([kind, 'add', name, ...options]));
  await add('source', 'bucket', ...creds(sourceBucket));
  await add('source', 'bucket-d', ...creds(sourceBucket), `passphrase=${PASS.d}`);
  await add('source', 'bucket-g', ...creds(sourceBucket), `passphrase=${PASS.g}`);
  await add('store', store('c'), storeDir('c'), `passphrase=${PASS.c}`);
  const storeBucket = (id: string) => s3.name(`mx-store-${id}`);
  for (const id of ['e', 'sync']) await add('store', store(id), ...creds(storeBucket(id)));
  await add('store', store('f'), ...creds(storeBucket('f')), `passphrase=${PASS.f}`);
  // Two names for one S3 store: without a passphrase, and with passphrase= in its configuration.
  const g = storeBucket('g');
  await add('store', store('g'), ...creds(g));
  await add('store', `${store('g')}-cfg`, ...creds(g), `passphrase=${PASS.g}`);
  for (const id of ['b', 'd', 'f', 'g-env', 'g-keyfile', 'g-cfg', 'sync']) {
    const bucket = s3.name(`mx-dst-${id}`);
    destBuckets.set(dest(id), bucket);
    await add('destination', dest(id), ...creds(bucket));
  }
}, 180_000);

afterAll(async () => {
  await s3.dispose();
  await removeDir(home?.dir);
});

describe.concurrent('sources x stores x destinations, and sync', { timeout: 240_000 }, () => {
  it('directory -> local store -> directory, passphrase from KLOSET_PASSPHRASE', async () => {
    const ka = (argv: string[]) => k(argv, { KLOSET_PASSPHRASE: PASS.a });
    ok(await ka(['at', storeDir('a'), 'create']));
    const snap = snapshotOf(await ka(['at', storeDir('a'), 'backup', '-json', tree]));
    expect(snap.summary).toMatchObject({ files: treeObjects.size, errors: 0 });
    const r = await ka(['at', storeDir('a'), 'restore', '-json', '-to', destDir('a'), snap.id]);
    await expectTreeInDir(r, destDir('a'));
    expectChecked(await ka(['at', storeDir('a'), 'check', '-json']), 1);
  });

  it('directory -> local store -> bucket, passphrase from -keyfile', async () => {
    const kf = ['-keyfile', keyfile('b')];
    ok(await k(['at', storeDir('b'), 'create', ...kf]));
    const snap = snapshotOf(await k([...kf, 'at', storeDir('b'), 'backup', '-json', tree]));
    const r = await k(['at', storeDir('b'), 'restore', ...kf, '-json', '-to', `@${dest('b')}`, snap.id]);
    await expectTreeInBucket(r, destBuckets.get(dest('b'))!);
    expectChecked(await k(['at', storeDir('b'), 'check', '-json', ...kf]), 1);
  });

  it('bucket -> local store -> directory, passphrase= of the store configuration', async () => {
    const at = ['at', `@${store('c')}`];
    ok(await k([...at, 'create']));
    const snap = snapshotOf(await k([...at, 'backup', '-json', '@bucket']));
    expect(snap.summary).toMatchObject({ files: original.size, errors: 0 });
    await expectBucketInDir(await k([...at, 'restore', '-json', '-to', destDir('c'), snap.id]), destDir('c'));
    expectChecked(await k([...at, 'check', '-json']), 1);
  });

  it('bucket -> local store -> bucket, passphrase= of the source configuration (backup)', async () => {
    ok(await k(['at', storeDir('d'), 'create'], { KLOSET_PASSPHRASE: PASS.d }));
    const snap = snapshotOf(await k(['at', storeDir('d'), 'backup', '-json', '@bucket-d']));
    expect(snap.summary).toMatchObject({ files: original.size, errors: 0 });
    const ke = (argv: string[]) => k(argv, { KLOSET_PASSPHRASE: PASS.d });
    const r = await ke(['at', storeDir('d'), 'restore', '-json', '-to', `@${dest('d')}`, snap.id]);
    await expectBucketInBucket(r, destBuckets.get(dest('d'))!);
    expectChecked(await ke(['at', storeDir('d'), 'check', '-json']), 1);
  });

  it('directory -> S3 store -> directory, passphrase from a relative -keyfile; cat and diff', async () => {
    // A copy of the tree of its own, changed after the first backup for diff.
    const mine = join(home.dir, 'tree-e');
    await cp(tree, mine, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
    const items = await describeTree(mine);
    const at = ['-keyfile', 'keys/e.txt', 'at', `@${store('e')}`];
    ok(await k([...at, 'create']));
    const first = snapshotOf(await k([...at, 'backup', '-json', mine]));
    const r = await k([...at, 'restore', '-json', '-to', destDir('e'), first.id]);
    await expectTreeInDir(r, destDir('e'), items);

    expect(ok(await k([...at, 'cat', `${first.id.slice(0, 8)}:/docs/readme.txt`])).stdout).toBe(
      'hello kloset\n',
    );
    const parts = jsonLines(ok(await k([...at, 'cat', '-json', `${first.id}:/big.bin`])).stdout);
    const body = Buffer.concat(parts.slice(0, -1).map((p) => Buffer.from(p.data as string, 'base64')));
    const big = items.find((i) => i.path === 'big.bin')!;
    expect(createHash('sha256').update(body).digest('hex')).toBe(big.sha256);
    expect(parts.at(-1)).toMatchObject({ snapshot: first.id, path: '/big.bin', bytes: 3 * MiB });

    // One file added, one removed, one rewritten, one chmod: the root's mtime changes too.
    await writeFile(join(mine, 'added.txt'), 'new\n');
    await rm(join(mine, 'empty.txt'));
    await writeFile(join(mine, 'docs', 'readme.txt'), 'hello again\n');
    await chmod(join(mine, 'run.sh'), 0o700);
    const second = snapshotOf(await k([...at, 'backup', '-json', mine]));
    const diff = jsonLines(ok(await k([...at, 'diff', '-json', first.id, second.id])).stdout);
    expect(diff.map((d) => [d.change, d.path, d.fields])).toEqual([
      ['changed', '/', ['mtime']],
      ['added', '/added.txt', []],
      ['removed', '/empty.txt', []],
      ['changed', '/run.sh', ['mode']],
      ['changed', '/docs/readme.txt', ['content', 'mtime']],
    ]);
    expectChecked(await k([...at, 'check', '-json']), 2);
  });

  it('directory -> S3 store -> bucket, passphrase= of the store configuration', async () => {
    const at = ['at', `@${store('f')}`];
    ok(await k([...at, 'create']));
    const snap = snapshotOf(await k([...at, 'backup', '-json', tree]));
    const r = await k([...at, 'restore', '-json', '-to', `@${dest('f')}`, snap.id]);
    await expectTreeInBucket(r, destBuckets.get(dest('f'))!);
    expectChecked(await k([...at, 'check', '-json']), 1);
  });

  it('bucket -> S3 store -> directory and bucket, with every passphrase source', async () => {
    const at = ['at', `@${store('g')}`];
    const kf = ['-keyfile', keyfile('g')];
    const env = { KLOSET_PASSPHRASE: PASS.g };
    ok(await k([...at, 'create', ...kf]));
    // One backup per passphrase source, each a process loading the S3 source and storage at once.
    const byEnv = snapshotOf(await k([...at, 'backup', '-json', '@bucket'], env));
    const byKeyfile = snapshotOf(await k([...kf, ...at, 'backup', '-json', '@bucket']));
    const byStore = snapshotOf(await k(['at', `@${store('g')}-cfg`, 'backup', '-json', '@bucket']));
    const bySource = snapshotOf(await k([...at, 'backup', '-json', '@bucket-g']));
    for (const s of [byEnv, byKeyfile, byStore, bySource]) {
      expect(s.summary).toMatchObject({ files: original.size, errors: 0 });
    }
    expect(
      failsInOneLine(await k([...at, 'backup', '@bucket'])),
      'without any passphrase source the backup cannot open the store',
    ).toMatch(/^kloset: a passphrase is needed/);

    const toDir = (id: string) => ['restore', '-json', '-to', destDir(`g-${id}`)];
    const toBucket = (id: string) => ['restore', '-json', '-to', `@${dest(`g-${id}`)}`];
    const cfg = ['at', `@${store('g')}-cfg`];
    const [dirEnv, dirKeyfile, dirCfg, bucketEnv, bucketKeyfile, bucketCfg] = await Promise.all([
      k([...at, ...toDir('env'), byEnv.id], env),
      k([...at, ...toDir('keyfile'), ...kf, byKeyfile.id]),
      k([...cfg, ...toDir('cfg'), byStore.id]),
      k([...at, ...toBucket('env'), bySource.id], env),
      k([...kf, ...at, ...toBucket('keyfile'), byEnv.id]),
      k([...cfg, ...toBucket('cfg'), byKeyfile.id]),
    ]);
    await expectBucketInDir(dirEnv, destDir('g-env'));
    await expectBucketInDir(dirKeyfile, destDir('g-keyfile'));
    await expectBucketInDir(dirCfg, destDir('g-cfg'));
    await expectBucketInBucket(bucketEnv, destBuckets.get(dest('g-env'))!);
    await expectBucketInBucket(bucketKeyfile, destBuckets.get(dest('g-keyfile'))!);
    await expectBucketInBucket(bucketCfg, destBuckets.get(dest('g-cfg'))!);

    // cat: an object's body as it was; diff: nothing changed between two backups of the bucket.
    const parts = jsonLines(ok(await k([...cfg, 'cat', '-json', `${bySource.id}:/assets/logo.bin`])).stdout);
    const body = Buffer.concat(parts.slice(0, -1).map((p) => Buffer.from(p.data as string, 'base64')));
    expect(createHash('sha256').update(body).digest('hex')).toBe(original.get('assets/logo.bin')!.sha256);
    expect(ok(await k([...cfg, 'cat', `${byEnv.id}:/index.html`])).stdout).toBe('<h1>kloset demo</h1>\n');
    expect(ok(await k([...cfg, 'diff', '-json', byEnv.id, bySource.id])).stdout).toBe('');
    expectChecked(await k([...cfg, 'check', '-json']), 4);
  });

  it('local -> S3 (sync -to), S3 -> local (sync to), both checked, snapshots restored from the last', async () => {
    const first = storeDir('sync1');
    const k1 = (argv: string[], more: Record<string, string> = {}) =>
      k(argv, { KLOSET_PASSPHRASE: PASS.sync1, ...more });
    ok(await k1(['at', first, 'create']));
    const dirSnap = snapshotOf(await k1(['at', first, 'backup', '-json', '-tag', 'dir', tree]));
    const bucketSnap = snapshotOf(await k1(['at', first, 'backup', '-json', '-tag', 'bucket', '@bucket']));
    const ids = [dirSnap.id, bucketSnap.id].sort();

    // The S3 store has its own passphrase, from KLOSET_PEER_PASSPHRASE here.
    const s3Store = `@${store('sync')}`;
    ok(await k(['at', s3Store, 'create'], { KLOSET_PASSPHRASE: PASS.sync2 }));
    const up = jsonLines(
      ok(await k1(['at', first, 'sync', '-json', '-to', s3Store], { KLOSET_PEER_PASSPHRASE: PASS.sync2 }))
        .stdout,
    )[0]!;
    expect(up).toMatchObject({ from: first, copied: 2, present: 0 });
    expectChecked(await k1(['at', first, 'check', '-json']), 2);
    expectChecked(await k(['at', s3Store, 'check', '-json'], { KLOSET_PASSPHRASE: PASS.sync2 }), 2);

    // Back from the S3 store (-keyfile) into a new local store (-peer-keyfile), Plakar's "to" word.
    const last = storeDir('sync3');
    ok(await k(['at', last, 'create', '-keyfile', keyfile('sync3')]));
    const down = [
      'at',
      s3Store,
      'sync',
      '-json',
      '-keyfile',
      keyfile('sync2'),
      '-peer-keyfile',
      keyfile('sync3'),
    ];
    expect(jsonLines(ok(await k([...down, 'to', last])).stdout)[0]).toMatchObject({
      to: last,
      copied: 2,
      present: 0,
    });
    const again = jsonLines(ok(await k([...down, 'to', last])).stdout)[0]!;
    expect(again).toMatchObject({ copied: 0, present: 2 });

    const kl = (argv: string[]) => k(['-keyfile', keyfile('sync3'), 'at', last, ...argv]);
    expectChecked(await kl(['check', '-json']), 2);
    const listed = jsonLines(ok(await kl(['ls', '-json'])).stdout);
    expect(listed.map((s) => s.id).sort()).toEqual(ids);
    expect(listed.map((s) => s.tags).sort()).toEqual([['bucket'], ['dir']]);
    const [toDir, toBucket] = await Promise.all([
      kl(['restore', '-json', '-to', destDir('sync'), dirSnap.id]),
      kl(['restore', '-json', '-to', `@${dest('sync')}`, bucketSnap.id]),
    ]);
    await expectTreeInDir(toDir, destDir('sync'));
    await expectBucketInBucket(toBucket, destBuckets.get(dest('sync'))!);
  });
});
