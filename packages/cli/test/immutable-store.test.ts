/**
 * Immutable stores (issue 16), through the built binary against the S3 test server (Ceph RGW):
 * object_lock and retention options (checked at `store add`, refused on a bucket without Object
 * Lock), objects written under a GOVERNANCE retention, `create` making the bucket with Object Lock.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { s3TestBuckets } from '@kloset/s3-common/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../src/exit-codes.ts';
import { awsEnv } from './helpers/aws-env.ts';
import { type CliHome, failsInOneLine, type klosetIn, ok, removeDir, s3CliHome } from './helpers/cli-home.ts';

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
