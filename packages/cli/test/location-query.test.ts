/**
 * Options in a one-off location, through the built binary against the S3 test server (Ceph RGW):
 * `at 's3://host/bucket?use_tls=false'` creates a store, backs up and lists; a bucket source and
 * a restore destination take options the same way; an unknown or bad option, a key or a secret in
 * the URL, a malformed query are usage errors (exit 2, one line). The keys come from the
 * environment (the SDK's credential chain), never from the URL.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { s3TestBuckets, seedBucket, viewObjects } from '@kloset/s3-common/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../src/exit-codes.ts';
import { awsEnv } from './helpers/aws-env.ts';
import { type CliHome, failsInOneLine, type klosetIn, ok, removeDir, s3CliHome } from './helpers/cli-home.ts';
import { jsonLines } from './helpers/run.ts';

const s3 = s3TestBuckets();
const { env } = s3;

let home: CliHome;
let k: ReturnType<typeof klosetIn>;
let storeBucket: string;
let sourceBucket: string;
let tree: string;
/** In a table built before the buckets exist: the store made by the first test. */
const STORE = 'STORE';
const url = (bucket: string, query: string) => `s3://${env.host}/${bucket}?${query}`;

beforeAll(async () => {
  storeBucket = await s3.create('query-store');
  sourceBucket = s3.name('query-src');
  await seedBucket(s3.client, sourceBucket);
  // Keys from the environment only; no profile or shared file of the machine decides anything.
  ({ home, k } = await s3CliHome('location-query', {
    KLOSET_PASSPHRASE: 'query pass',
    ...awsEnv({ AWS_ACCESS_KEY_ID: env.accessKey, AWS_SECRET_ACCESS_KEY: env.secretKey }),
  }));
  tree = join(home.dir, 'tree');
  await mkdir(tree);
  await writeFile(join(tree, 'a.txt'), 'alpha\n');
}, 180_000);
afterAll(() => s3.dispose());
afterAll(() => removeDir(home?.dir));

describe('options in the query string of a one-off location', () => {
  it('create, backup and ls at s3://host/bucket?use_tls=false (percent-decoded)', async () => {
    const at = url(storeBucket, 'use_tls=false&region=us-east-1');
    ok(await k(['at', at, 'create']));
    const snap = jsonLines(ok(await k(['-json', 'at', at, 'backup', tree])).stdout)[0]!;
    expect((snap.snapshot as { summary: { files: number } }).summary.files).toBe(1);
    // `%66alse` is `false`: keys and values are percent-decoded.
    const listed = jsonLines(ok(await k(['-json', 'at', url(storeBucket, 'use_tls=%66alse'), 'ls'])).stdout);
    expect(listed.map((s) => s.id)).toEqual([(snap.snapshot as { id: string }).id]);
  });

  it('a bucket source and a restore destination take options the same way', async () => {
    const at = url(storeBucket, 'use_tls=false');
    const src = url(sourceBucket, 'use_tls=false&refresh_metadata=true&concurrency=4');
    const snap = jsonLines(ok(await k(['-json', 'at', at, 'backup', src])).stdout)[0]!.snapshot as {
      id: string;
      name: string;
      source: { origin: string };
    };
    // The options are not part of the recorded source, nor of the name (the URL as typed).
    expect(snap.source.origin).not.toContain('?');
    expect(snap.name).toBe(`s3://${env.host}/${sourceBucket}`);
    const dest = s3.name('query-dest');
    ok(await k(['at', at, 'restore', '-to', url(dest, 'use_tls=false&storage_class=STANDARD'), snap.id]));
    const restored = await viewObjects(s3.client, dest, '');
    expect([...restored.keys()].sort()).toEqual(
      [...(await viewObjects(s3.client, sourceBucket, '')).keys()].sort(),
    );
  });

  it('store add splits the query into options', async () => {
    ok(await k(['store', 'add', 'q', url(storeBucket, 'use_tls=false&timeout=120')]));
    expect(jsonLines(ok(await k(['store', 'show', '-json', 'q'])).stdout)).toEqual([
      {
        name: 'q',
        options: { location: `s3://${env.host}/${storeBucket}`, use_tls: 'false', timeout: '120' },
      },
    ]);
    expect(jsonLines(ok(await k(['-json', 'at', '@q', 'ls'])).stdout)).toHaveLength(2);
  });

  const refused: [string, string[], string][] = [
    [
      'an unknown option',
      ['at', url('b-unknown', 'use_tls=false&colour=red'), 'ls'],
      'unknown option "colour" (known: ',
    ],
    [
      'a bad value',
      ['at', url('b-bad', 'use_tls=maybe'), 'ls'],
      'option use_tls: expected true or false, got "maybe"',
    ],
    [
      'a value only the connector judges',
      ['at', url('b-class', 'use_tls=false&storage_class=cold'), 'ls'],
      'option storage_class: expected a storage class name',
    ],
    [
      'an access key',
      ['at', url('b-key', `use_tls=false&access_key=${env.accessKey}`), 'ls'],
      'access_key does not go in a location (it would show in shell history and process lists)',
    ],
    [
      'a secret key, in a backup source',
      ['at', STORE, 'backup', url('b-secret', 'secret_access_key=x')],
      'secret_access_key does not go in a location',
    ],
    [
      'a passphrase, in a restore destination',
      ['at', STORE, 'restore', '-to', url('b-pass', 'passphrase=x'), 'latest'],
      'passphrase does not go in a location',
    ],
    [
      'a word without =',
      ['at', url('b-word', 'use_tls'), 'ls'],
      'expected KEY=VALUE in its query, got "use_tls"',
    ],
    ['bad percent-encoding', ['at', url('b-pct', 'region=%zz'), 'ls'], 'bad percent-encoding in "%zz"'],
    [
      'a key after a malformed part: the key is refused, the secret not quoted',
      ['at', url('b-order', 'x&secret_access_key=VERY-SECRET-VALUE'), 'ls'],
      'secret_access_key does not go in a location',
    ],
    ['an option twice', ['at', url('b-twice', 'use_tls=false&use_tls=true'), 'ls'], 'use_tls given twice'],
  ];
  it.each(refused)('%s: exit 2, one line', async (_what, argv, message) => {
    const line = argv.map((a) => (a === STORE ? url(storeBucket, 'use_tls=false') : a));
    const error = failsInOneLine(await k(line), ExitCode.Usage);
    expect(error).toContain(message);
    // What is quoted back is the location without its query: no value typed there, secret or not.
    expect(error).not.toContain('?');
    expect(error).not.toContain(env.accessKey);
    expect(error).not.toContain('VERY-SECRET-VALUE');
  });
});
