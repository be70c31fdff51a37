/**
 * The demo driven through the kloset CLI, as a user would type it. Everything it writes lives in
 * a fresh work directory (config, cache, store) so the user's own kloset set-up is untouched.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DeleteBucketCommand, DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { plainS3Client, readS3TestEnv, seedBucket } from '@kloset/s3-common/testing';
import { compareBuckets, listKeys } from './bucket-snapshot.ts';

const root = resolve(import.meta.dirname, '../..');
const work = process.env.KLOSET_DEMO_DIR ?? '/tmp/kloset-demo';
const env = readS3TestEnv();
const host = env.host;
const s3 = plainS3Client(env);
const source = 'kloset-demo-source';
const target = 'kloset-demo-restored';

const cliEnv: NodeJS.ProcessEnv = {
  ...process.env,
  HOME: work,
  XDG_CONFIG_HOME: join(work, 'config'),
  XDG_CACHE_HOME: join(work, 'cache'),
  XDG_DATA_HOME: join(work, 'data'),
  KLOSET_PASSPHRASE: 'demo passphrase: use a long one',
};

function kloset(...args: string[]): string {
  console.log(`$ kloset ${args.map((a) => (/[\s"'@]/.test(a) ? JSON.stringify(a) : a)).join(' ')}`);
  const r = spawnSync(process.execPath, [join(root, 'packages/cli/bin/kloset.js'), ...args], {
    cwd: work,
    env: cliEnv,
    encoding: 'utf8',
  });
  if (r.stdout) process.stdout.write(r.stdout.replace(/^(?=.)/gm, '  '));
  if (r.status !== 0) {
    process.stderr.write(r.stderr);
    throw new Error(`kloset ${args[0]} ... exited with ${r.status}`);
  }
  return r.stdout;
}

async function emptyBucket(client: S3Client, bucket: string): Promise<void> {
  try {
    for await (const key of listKeys(client, bucket))
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    await client.send(new DeleteBucketCommand({ Bucket: bucket }));
  } catch (err) {
    if ((err as { name?: string }).name !== 'NoSuchBucket') throw err;
  }
}

async function main(): Promise<void> {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  await emptyBucket(s3, source);
  await emptyBucket(s3, target);
  const count = await seedBucket(s3, source);
  console.log(
    `seeded s3://${host}/${source} with ${count} objects (headers, user metadata, tags, odd keys)\n`,
  );

  const creds = [`access_key=${env.accessKey}`, `secret_access_key=${env.secretKey}`, 'use_tls=false'];
  kloset('pkg', 'build', 's3');
  const archive = readdirSync(work).find((f) => /^s3_.*\.tgz$/.test(f));
  if (!archive) throw new Error('pkg build s3 wrote no archive');
  kloset('pkg', 'add', `./${archive}`);
  kloset('pkg', 'list');
  kloset('source', 'add', 'demo-bucket', `location=s3://${host}/${source}`, ...creds);
  kloset('destination', 'add', 'demo-restore', `location=s3://${host}/${target}`, ...creds);
  const store = join(work, 'backups');
  kloset('at', store, 'create');
  kloset('at', store, 'backup', '@demo-bucket');
  kloset('at', store, 'backup', '@demo-bucket');
  kloset('at', store, 'ls');
  kloset('at', store, 'check');
  kloset('at', store, 'restore', '-to', '@demo-restore', 'latest');

  const diffs = await compareBuckets(s3, source, target);
  if (diffs.length > 0) {
    console.error(`\nFAILED: the restored bucket differs from the original:\n${diffs.join('\n')}`);
    process.exit(1);
  }
  console.log(`\nOK: s3://${host}/${target} holds the same ${count} objects as s3://${host}/${source}:`);
  console.log('   keys, bodies, Content-* / Cache-Control / Expires headers, user metadata and tags.');
}

main().catch((err: unknown) => {
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
