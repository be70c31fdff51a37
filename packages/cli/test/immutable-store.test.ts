/**
 * Immutable stores (issue 16), through the built binary against the S3 test server (Ceph RGW):
 * object_lock and retention options (checked at `store add`, refused on a bucket without Object
 * Lock), objects written under a GOVERNANCE retention, `create` making the bucket with Object Lock;
 * after an attack with the store's credentials and passphrase (rm of every snapshot, maintenance
 * -grace 0, a packfile overwritten, every object deleted without a version id), `-as-of` still
 * lists, checks and restores the snapshots byte-identical, and locked versions refuse deletion.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DeleteObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { s3TestBuckets } from '@kloset/s3-common/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../src/exit-codes.ts';
import { awsEnv } from './helpers/aws-env.ts';
import { type CliHome, failsInOneLine, type klosetIn, ok, removeDir, s3CliHome } from './helpers/cli-home.ts';
import { jsonLines } from './helpers/run.ts';
import { describeTree } from './helpers/tree.ts';

const s3 = s3TestBuckets();
const { env } = s3;

let home: CliHome;
let k: ReturnType<typeof klosetIn>;
let tree: string;
const RETENTION = 'object_lock=governance&retention=20s';
const url = (bucket: string, query: string) => `s3://${env.host}/${bucket}?use_tls=false&${query}`;

beforeAll(async () => {
  await s3.ready();
  ({ home, k } = await s3CliHome('immutable', {
    KLOSET_PASSPHRASE: 'immutable pass',
    ...awsEnv({ AWS_ACCESS_KEY_ID: env.accessKey, AWS_SECRET_ACCESS_KEY: env.secretKey }),
  }));
  tree = join(home.dir, 'tree');
  await mkdir(join(tree, 'sub'), { recursive: true });
  await writeFile(join(tree, 'a.txt'), 'alpha\n');
  await writeFile(join(tree, 'sub', 'b.bin'), Buffer.alloc(300_000, 7));
}, 180_000);
afterAll(() => s3.dispose());
afterAll(() => removeDir(home?.dir));

describe('object_lock and retention options', () => {
  it('a bad mode or duration is a usage error at store add', async () => {
    const at = `s3://${env.host}/${s3.name('lock-never')}`;
    const mode = failsInOneLine(
      await k(['store', 'add', 'bad1', at, 'object_lock=sometimes', 'retention=1d']),
      ExitCode.Usage,
    );
    expect(mode).toMatch(/object_lock: expected one of governance, compliance/);
    const duration = failsInOneLine(
      await k(['store', 'add', 'bad2', at, 'object_lock=governance', 'retention=1 day']),
      ExitCode.Usage,
    );
    expect(duration).toMatch(/retention: "1 day" is not a duration/);
    const alone = failsInOneLine(await k(['store', 'add', 'bad3', at, 'retention=1d']), ExitCode.Usage);
    expect(alone).toMatch(/go together/);
  });

  it('are refused in one line on an existing bucket without Object Lock', async () => {
    const bucket = await s3.create('lock-plain');
    const line = failsInOneLine(await k(['at', url(bucket, RETENTION), 'create']));
    expect(line).toMatch(new RegExp(`bucket "${bucket}" has no Object Lock`));
  });

  it('create makes the bucket with Object Lock; backups write retained objects (locks excepted)', async () => {
    const bucket = s3.name('lock-store');
    const at = url(bucket, RETENTION);
    ok(await k(['at', at, 'create']));
    ok(await k(['at', at, 'backup', tree]));
    const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: bucket }));
    const keys = (listed.Contents ?? []).map((o) => o.Key ?? '');
    expect(keys.some((key) => key.startsWith('packfiles/'))).toBe(true);
    expect(keys.some((key) => key.startsWith('snapshots/'))).toBe(true);
    expect(keys.some((key) => key.startsWith('locks/'))).toBe(false);
    for (const key of keys) {
      const h = await s3.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      expect(h.ObjectLockMode, key).toBe('GOVERNANCE');
      expect(h.ObjectLockRetainUntilDate?.getTime() ?? 0, key).toBeGreaterThan(Date.now());
    }
  });
});

/** The current keys of the bucket (ListObjectsV2: what a store without -as-of sees). */
async function currentKeys(bucket: string): Promise<string[]> {
  const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (listed.Contents ?? []).map((o) => o.Key ?? '');
}

describe('after an attack with the store credentials and passphrase', () => {
  let bucket = '';
  let at = '';
  let ids: string[] = [];
  let before = '';
  /** The backed-up tree at each backup (describeTree), oldest first as `ids`. */
  const trees: Awaited<ReturnType<typeof describeTree>>[] = [];

  beforeAll(async () => {
    bucket = s3.name('lock-attack');
    at = url(bucket, 'object_lock=governance&retention=3m');
    ok(await k(['at', at, 'create']));
    ok(await k(['at', at, 'backup', tree]));
    trees.push(await describeTree(tree));
    await writeFile(join(tree, 'c.txt'), 'gamma\n');
    ok(await k(['at', at, 'backup', tree]));
    trees.push(await describeTree(tree));
    ids = jsonLines(ok(await k(['-json', 'at', at, 'ls'])).stdout)
      .sort((a, b) => String(a.time).localeCompare(String(b.time)))
      .map((s) => String(s.id));
    expect(ids).toHaveLength(2);
    await sleep(1100);
    before = new Date().toISOString();
    await sleep(1100);
    // The attack: a packfile overwritten with garbage, every snapshot removed, the data reclaimed...
    const pack = (await currentKeys(bucket)).find((key) => key.startsWith('packfiles/'));
    expect(pack).toBeDefined();
    await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: pack, Body: 'garbage' }));
    ok(await k(['at', at, 'rm', ...ids]));
    await k(['at', at, 'maintenance', '-grace', '0s']);
    // ...and whatever is left deleted, without version ids (which the lock would refuse).
    for (const key of await currentKeys(bucket)) {
      await s3.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    }
    expect(await currentKeys(bucket)).toEqual([]);
  }, 180_000);

  it('the store as it is is gone', async () => {
    failsInOneLine(await k(['at', at, 'ls']));
  });

  it('ls, info, check, cat, find and diff -as-of TIME see the snapshots as they were', async () => {
    const listed = jsonLines(ok(await k(['-json', 'at', at, 'ls', '-as-of', before])).stdout);
    expect(listed.map((s) => String(s.id)).sort()).toEqual([...ids].sort());
    ok(await k(['at', at, 'info', '-as-of', before]));
    ok(await k(['at', at, 'check', '-as-of', before]));
    const cat = ok(await k(['at', at, 'cat', '-as-of', before, `${ids[0]}:/a.txt`]));
    expect(cat.stdout).toBe('alpha\n');
    const found = ok(await k(['at', at, 'find', '-as-of', before, 'c.txt', ids[1] ?? '']));
    expect(found.stdout).toMatch(/c\.txt/);
    ok(await k(['at', at, 'diff', '-as-of', before, ids[0] ?? '', ids[1] ?? '']));
  });

  it('restore -as-of TIME restores every snapshot byte-identical', async () => {
    for (const [i, id] of ids.entries()) {
      const to = join(home.dir, `restored-${id.slice(0, 8)}`);
      ok(await k(['at', at, 'restore', '-as-of', before, '-to', to, id]));
      expect(await describeTree(to)).toEqual(trees[i]);
    }
  });

  it('sync -as-of TIME copies the snapshots out into a new store', async () => {
    const copy = join(home.dir, 'copy-store');
    ok(await k(['at', copy, 'create']));
    ok(await k(['at', at, 'sync', '-as-of', before, '-to', copy]));
    const listed = jsonLines(ok(await k(['-json', 'at', copy, 'ls'])).stdout);
    expect(listed.map((s) => String(s.id)).sort()).toEqual([...ids].sort());
    // -from: -as-of is of the source (the other store), the store of "at" is written.
    const pulled = join(home.dir, 'pulled-store');
    ok(await k(['at', pulled, 'create']));
    ok(await k(['at', pulled, 'sync', '-as-of', before, '-from', at, ids[0] ?? '']));
    expect(jsonLines(ok(await k(['-json', 'at', pulled, 'ls'])).stdout).map((s) => s.id)).toEqual([ids[0]]);
  });

  it('no locked version can be deleted by its version id', async () => {
    const versions = await s3.client.send(
      new ListObjectVersionsCommand({ Bucket: bucket, Prefix: 'packfiles/' }),
    );
    const locked = (versions.Versions ?? []).filter((v) => v.Size !== 7);
    expect(locked.length).toBeGreaterThan(0);
    for (const v of locked) {
      const refused = await s3.client
        .send(new DeleteObjectCommand({ Bucket: bucket, Key: v.Key, VersionId: v.VersionId }))
        .then(
          () => 'deleted',
          (e: unknown) => String((e as { message?: string }).message),
        );
      expect(refused).toMatch(/forbidden by object lock/);
    }
  });

  it('a store that keeps no versions refuses -as-of in one line', async () => {
    const local = join(home.dir, 'local-store');
    ok(await k(['at', local, 'create']));
    const line = failsInOneLine(await k(['at', local, 'ls', '-as-of', '1h']), ExitCode.Usage);
    expect(line).toMatch(/-as-of: store .* cannot be read as it was/);
    const bad = failsInOneLine(await k(['at', at, 'ls', '-as-of', 'yesterday']), ExitCode.Usage);
    expect(bad).toMatch(/-as-of "yesterday" is neither a date/);
  });
});

describe('maintenance of a store with Object Lock', () => {
  it('keeps deleted objects until their retention ends, then reclaims them; extends those in use', async () => {
    const bucket = s3.name('lock-maint');
    const at = url(bucket, 'object_lock=governance&retention=20s');
    const first = join(home.dir, 'maint-1');
    const second = join(home.dir, 'maint-2');
    await mkdir(first);
    await mkdir(second);
    await writeFile(join(first, 'one.bin'), Buffer.alloc(200_000, 1));
    await writeFile(join(second, 'two.bin'), Buffer.alloc(200_000, 2));
    ok(await k(['at', at, 'create']));
    const old = jsonLines(ok(await k(['-json', 'at', at, 'backup', first])).stdout)[0]?.snapshot as {
      id: string;
    };
    const kept = jsonLines(ok(await k(['-json', 'at', at, 'backup', second])).stdout)[0]?.snapshot as {
      id: string;
    };
    const written = Date.now();
    ok(await k(['at', at, 'rm', old.id]));
    const run1 = ok(await k(['at', at, 'maintenance', '-grace', '0s']));
    expect(run1.stdout).toMatch(/deleted [1-9]\d* unused packfiles/);
    expect(run1.stdout).toMatch(/\d+ deleted objects kept until their retention ends/);
    // The deleted packfile is hidden, its version still there.
    const hidden = async () => {
      const v = await s3.client.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: 'packfiles/' }));
      return (v.Versions ?? []).filter((x) => x.IsLatest !== true).length;
    };
    expect(await hidden()).toBeGreaterThan(0);
    // Once the retention of what was written has ended (and half of it for what is in use):
    await sleep(Math.max(0, written + 21_000 - Date.now()));
    const run2 = jsonLines(ok(await k(['-json', 'at', at, 'maintenance', '-grace', '0s'])).stdout)[0] as {
      retention: { reclaimed: number; kept: number; extended: number };
    };
    expect(run2.retention.reclaimed).toBeGreaterThanOrEqual(2); // packfiles, the snapshot header
    expect(run2.retention.kept).toBe(0);
    expect(run2.retention.extended).toBeGreaterThan(0);
    expect(await hidden()).toBe(0);
    // What is in use is retained again, and still restores.
    const live = (await currentKeys(bucket)).filter((key) => !key.startsWith('locks/'));
    for (const key of live) {
      const h = await s3.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      expect(h.ObjectLockRetainUntilDate?.getTime() ?? 0, key).toBeGreaterThan(Date.now() + 10_000);
    }
    const to = join(home.dir, 'maint-restored');
    ok(await k(['at', at, 'restore', '-to', to, kept.id]));
    expect(await describeTree(to)).toEqual(await describeTree(second));
    ok(await k(['at', at, 'check']));
  }, 120_000);
});
