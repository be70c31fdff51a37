/**
 * `profile=NAME` and AWS_PROFILE, through the built binary against the S3 test server (Ceph RGW):
 * the keys come from temporary AWS shared files (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE),
 * none from the environment; a missing profile fails in one line naming it and the files.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { s3TestBuckets } from '@kloset/s3-common/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsEnv } from './helpers/aws-env.ts';
import { type CliHome, failsInOneLine, type klosetIn, ok, removeDir, s3CliHome } from './helpers/cli-home.ts';
import { jsonLines } from './helpers/run.ts';

const s3 = s3TestBuckets();
const { env } = s3;

let home: CliHome;
let k: ReturnType<typeof klosetIn>;
let bucket: string;
let tree: string;
let aws: string | undefined;
let files: { config: string; credentials: string };

beforeAll(async () => {
  bucket = await s3.create('profile');
  aws = await mkdtemp(join(tmpdir(), 'kloset-aws-files-'));
  files = { config: join(aws, 'config'), credentials: join(aws, 'credentials') };
  await writeFile(files.config, `[profile rgw]\nregion = ${env.region}\n[profile empty]\noutput = json\n`);
  await writeFile(
    files.credentials,
    `[rgw]\naws_access_key_id = ${env.accessKey}\naws_secret_access_key = ${env.secretKey}\n`,
  );
  // No keys in the environment: they can only come from the profile.
  ({ home, k } = await s3CliHome('s3-profile', {
    KLOSET_PASSPHRASE: 'profile pass',
    ...awsEnv({ AWS_CONFIG_FILE: files.config, AWS_SHARED_CREDENTIALS_FILE: files.credentials }),
  }));
  tree = join(home.dir, 'tree');
  await mkdir(tree);
  await writeFile(join(tree, 'p.txt'), 'profile\n');
}, 180_000);
afterAll(() => s3.dispose());
afterAll(() => removeDir(home?.dir));
afterAll(() => removeDir(aws));

describe('profile= and AWS_PROFILE', () => {
  it('a named store with profile=rgw: create, backup, ls', async () => {
    ok(await k(['store', 'add', 'p', `s3://${env.host}/${bucket}`, 'use_tls=false', 'profile=rgw']));
    ok(await k(['at', '@p', 'create']));
    ok(await k(['at', '@p', 'backup', tree]));
    expect(jsonLines(ok(await k(['-json', 'at', '@p', 'ls'])).stdout)).toHaveLength(1);
  });

  it('a one-off location with ?profile=rgw, and AWS_PROFILE=rgw without the option', async () => {
    const viaQuery = ok(
      await k(['-json', 'at', `s3://${env.host}/${bucket}?use_tls=false&profile=rgw`, 'ls']),
    );
    expect(jsonLines(viaQuery.stdout)).toHaveLength(1);
    const viaEnv = ok(
      await k(['-json', 'at', `s3://${env.host}/${bucket}?use_tls=false`, 'ls'], { AWS_PROFILE: 'rgw' }),
    );
    expect(jsonLines(viaEnv.stdout)).toHaveLength(1);
  });

  it('a missing profile fails in one line naming it and the files looked at', async () => {
    const at = `s3://${env.host}/${bucket}`;
    expect(failsInOneLine(await k(['at', `${at}?use_tls=false&profile=nope`, 'ls']))).toBe(
      `kloset: store ${at}: AWS profile "nope" (profile=) not found in ${files.config} or ${files.credentials}`,
    );
    expect(failsInOneLine(await k(['at', `${at}?use_tls=false`, 'ls'], { AWS_PROFILE: 'nope' }))).toBe(
      `kloset: store ${at}: AWS profile "nope" (AWS_PROFILE) not found in ${files.config} or ${files.credentials}`,
    );
  });

  it('a profile without keys fails in one line too', async () => {
    const line = failsInOneLine(
      await k(['at', `s3://${env.host}/${bucket}?use_tls=false&profile=empty`, 'ls']),
    );
    expect(line).toContain('no credentials: set access_key and secret_access_key, or profile=NAME');
    expect(line).toContain('[empty]');
  });

  it('profile= beside access_key: exit 2 at store add', async () => {
    const r = await k([
      'store',
      'add',
      'both',
      `s3://${env.host}/${bucket}`,
      'profile=rgw',
      'access_key=A',
      'secret_access_key=S',
    ]);
    expect(failsInOneLine(r, 2)).toBe(
      'kloset: store @both: options profile and access_key exclude each other: give one or the other',
    );
  });
});
