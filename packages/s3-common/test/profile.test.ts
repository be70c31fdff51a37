/** profile=NAME and AWS_PROFILE: the profile's region, a missing profile in one line naming the files. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isConnectorError } from '@kloset/connector-contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveS3Settings, S3_COMMON_OPTIONS } from '../src/index.ts';

let dir: string;
let env: Record<string, string>;
const params = (location: string, options: Record<string, string> = {}) => ({ location, options });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kloset-profile-'));
  await writeFile(join(dir, 'config'), '[profile work]\nregion = eu-west-3\n[profile bare]\noutput = json\n');
  await writeFile(
    join(dir, 'credentials'),
    '[work]\naws_access_key_id = AK\naws_secret_access_key = SK\n[keys-only]\naws_access_key_id = AK2\naws_secret_access_key = SK2\n',
  );
  env = { AWS_CONFIG_FILE: join(dir, 'config'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials') };
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function failure(p: Promise<unknown>): Promise<Error> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isConnectorError(err, 'invalid'), String(err)).toBe(true);
  return err as Error;
}

describe('resolveS3Settings', () => {
  it('profile=: its name, the files, and its region when nothing else says one', async () => {
    const s = await resolveS3Settings(
      params('s3://minio.local:9000/bkt', { profile: 'work' }),
      S3_COMMON_OPTIONS,
      env,
    );
    expect(s.profile).toBe('work');
    expect(s.credentials).toBeUndefined();
    expect(s.region).toBe('eu-west-3');
    expect(s.sharedFiles).toEqual({
      config: env.AWS_CONFIG_FILE,
      credentials: env.AWS_SHARED_CREDENTIALS_FILE,
    });
  });

  it('region= and an AWS endpoint name come before the region of the profile', async () => {
    const opts = { profile: 'work', region: 'ap-south-1' };
    expect((await resolveS3Settings(params('s3://h.local/bkt', opts), S3_COMMON_OPTIONS, env)).region).toBe(
      'ap-south-1',
    );
    const aws = params('s3://s3.us-west-2.amazonaws.com/bkt', { profile: 'work' });
    expect((await resolveS3Settings(aws, S3_COMMON_OPTIONS, env)).region).toBe('us-west-2');
    // A profile with no region (or only in the credentials file): the default.
    const bare = await resolveS3Settings(
      params('s3://h.local/bkt', { profile: 'keys-only' }),
      S3_COMMON_OPTIONS,
      env,
    );
    expect(bare.region).toBe('us-east-1');
  });

  it('AWS_PROFILE when no keys are given: its region, the credential chain kept', async () => {
    const s = await resolveS3Settings(params('s3://h.local/bkt'), S3_COMMON_OPTIONS, {
      ...env,
      AWS_PROFILE: 'work',
    });
    expect(s.region).toBe('eu-west-3');
    expect(s.profile).toBeUndefined();
  });

  it('keys given: no profile is looked up, AWS_PROFILE=nope included', async () => {
    const s = await resolveS3Settings(
      params('s3://h.local/bkt', { access_key: 'A', secret_access_key: 'S' }),
      S3_COMMON_OPTIONS,
      { ...env, AWS_PROFILE: 'nope' },
    );
    expect(s.credentials?.accessKeyId).toBe('A');
    expect(s.region).toBe('us-east-1');
  });

  it('a missing profile fails in one line naming it, where it came from and the files', async () => {
    const byOption = await failure(
      resolveS3Settings(params('s3://h.local/bkt', { profile: 'nope' }), S3_COMMON_OPTIONS, env),
    );
    expect(byOption.message).toBe(
      `AWS profile "nope" (profile=) not found in ${env.AWS_CONFIG_FILE} or ${env.AWS_SHARED_CREDENTIALS_FILE}`,
    );
    const byEnv = await failure(
      resolveS3Settings(params('s3://h.local/bkt'), S3_COMMON_OPTIONS, { ...env, AWS_PROFILE: 'nope' }),
    );
    expect(byEnv.message).toBe(
      `AWS profile "nope" (AWS_PROFILE) not found in ${env.AWS_CONFIG_FILE} or ${env.AWS_SHARED_CREDENTIALS_FILE}`,
    );
  });

  it('profile= with access_key is refused', async () => {
    const err = await failure(
      resolveS3Settings(
        params('s3://h.local/bkt', { profile: 'work', access_key: 'A', secret_access_key: 'S' }),
        S3_COMMON_OPTIONS,
        env,
      ),
    );
    expect(err.message).toBe('options profile and access_key exclude each other: give one or the other');
  });
});
