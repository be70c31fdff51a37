/**
 * What a new user meets on the S3 path when something is wrong, through the built binary against
 * the S3 test server (Ceph RGW): each failure is one `kloset: ` line that names what failed.
 *
 * - a backup of a named S3 source whose bucket is missing, whose secret key is wrong, or whose
 *   endpoint is unreachable names the source (@NAME), its endpoint and its bucket (it said
 *   `backup of s3:/ failed: ...`);
 * - a malformed location (`s3:/host/b`, one slash) is a usage error (exit 2) naming the form
 *   expected, for source / store / destination add and for `at`, backup, restore and sync (it was
 *   taken for a local path: "unknown option access_key", or a store created in ./s3:);
 * - an S3 store that cannot be read (wrong secret key, unreachable endpoint, TLS against a plain
 *   HTTP server) and a restore into an unreachable destination name the store / destination.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { s3TestBuckets } from '@kloset/s3-common/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliHome, failsInOneLine, klosetIn, makeCliHome, ok, removeDir } from './helpers/cli-home.ts';

const s3 = s3TestBuckets();
const { env } = s3;
/** Nothing listens there: connections are refused at once. */
const UNREACHABLE = '127.0.0.1:1';

let home: CliHome;
let k: ReturnType<typeof klosetIn>;
let pathStore: string;
let bucket: string;
const missing = s3.name('missing');

const secrets = (secret = env.secretKey) => [`access_key=${env.accessKey}`, `secret_access_key=${secret}`];

/** How many times `part` occurs in `line`. */
const count = (line: string, part: string): number => line.split(part).length - 1;

beforeAll(async () => {
  bucket = await s3.create('errs');
  home = await makeCliHome('s3-errors');
  k = klosetIn(home, { KLOSET_PASSPHRASE: 'one line' });
  ok(await k(['pkg', 'add', 's3']));
  pathStore = join(home.dir, 'store');
  ok(await k(['at', pathStore, 'create']));
  const data = join(home.dir, 'tree');
  await mkdir(data);
  await writeFile(join(data, 'f.txt'), 'f');
  ok(await k(['at', pathStore, 'backup', data]));
}, 180_000);

afterAll(() => s3.dispose());
afterAll(() => removeDir(home?.dir));

describe('backup of a named S3 source that fails', () => {
  const cases = [
    { name: 'no-bucket', endpoint: env.host, bucket: missing, secret: env.secretKey },
    { name: 'bad-secret', endpoint: env.host, bucket: () => bucket, secret: 'not the secret' },
    { name: 'unreachable', endpoint: UNREACHABLE, bucket: () => 'some-bucket', secret: env.secretKey },
  ] as const;
  for (const c of cases) {
    it(`names @${c.name}, its endpoint and its bucket, once each: no "s3:/"`, async () => {
      const b = typeof c.bucket === 'string' ? c.bucket : c.bucket();
      const location = `s3://${c.endpoint}/${b}`;
      ok(await k(['source', 'add', c.name, `location=${location}`, ...secrets(c.secret), 'use_tls=false']));
      const line = failsInOneLine(await k(['at', pathStore, 'backup', `@${c.name}`]));
      expect(line.startsWith(`kloset: backup of @${c.name} (${location}): `), line).toBe(true);
      expect(line).not.toMatch(/s3:\/(?!\/)/);
      expect(count(line, `@${c.name}`), line).toBe(1);
      expect(count(line, location), line).toBe(1);
      // What the S3 layer says after it names the bucket again (and, unreachable, the endpoint).
      expect(line.slice(`kloset: backup of @${c.name} (${location}): `.length)).toMatch(b);
      if (c.name === 'no-bucket') expect(line).toMatch(new RegExp(`bucket "${b}" does not exist$`));
    });
  }
});

describe('a malformed s3 location', () => {
  const form =
    /location "s3:\/host\/b" is malformed: expected s3:\/\/\.\.\. \(did you mean "s3:\/\/host\/b"\?/;

  it('source, store and destination add refuse it as a usage error and save nothing', async () => {
    const saved = () => readFile(home.config, 'utf8').catch(() => 'no configuration');
    const before = await saved();
    for (const kind of ['source', 'store', 'destination']) {
      for (const argv of [
        [kind, 'add', 'bad', 'location=s3:/host/b', 'access_key=x', 'secret_access_key=y'],
        [kind, 'add', 'bad', 's3:/host/b', 'access_key=x', 'secret_access_key=y'],
      ]) {
        const line = failsInOneLine(await k(argv), 2);
        expect(line).toMatch(new RegExp(`^kloset: ${kind} @bad: ${form.source}`));
        expect(line).not.toMatch(/unknown option/);
      }
      // No slash after the colon, an upper-case scheme: the same.
      expect(failsInOneLine(await k([kind, 'add', 'bad', 'location=S3:host/b']), 2)).toMatch(
        /location "S3:host\/b" is malformed: expected s3:\/\/\.\.\. \(did you mean "s3:\/\/host\/b"\?/,
      );
    }
    expect(await saved()).toBe(before);
    // set refuses it too, and keeps the saved location.
    ok(
      await k([
        'source',
        'add',
        'good',
        `location=s3://${env.host}/${bucket}`,
        ...secrets(),
        'use_tls=false',
      ]),
    );
    expect(failsInOneLine(await k(['source', 'set', 'good', 'location=s3:/host/b']), 2)).toMatch(form);
    expect(ok(await k(['source', 'show', 'good'])).stdout).toContain(`location=s3://${env.host}/${bucket}\n`);
  });

  it('add refuses an s3:// location without a bucket or with a bad bucket name, naming the form', async () => {
    const saved = () => readFile(home.config, 'utf8').catch(() => 'no configuration');
    const before = await saved();
    for (const kind of ['source', 'store', 'destination']) {
      for (const [location, why] of [
        ['s3://host', 'the bucket is missing'],
        ['s3://host/', 'the bucket is missing'],
        ['s3://host/Bad_Bucket!', 'bad bucket name "Bad_Bucket!"'],
      ] as const) {
        const line = failsInOneLine(await k([kind, 'add', 'nb', `location=${location}`, ...secrets()]), 2);
        expect(line).toBe(
          `kloset: ${kind} @nb: location ${JSON.stringify(location)}: ${why} (expected s3://ENDPOINT/BUCKET[/PREFIX])`,
        );
      }
    }
    expect(await saved()).toBe(before);
  });

  it('at, backup, restore and sync refuse it as a usage error; nothing is created in ./s3:', async () => {
    for (const argv of [
      ['at', 's3:/host/b', 'create'],
      ['at', 's3:/host/b', 'ls'],
      ['at', pathStore, 'backup', 's3:/host/b'],
      ['at', pathStore, 'restore', '-to', 's3:/host/b', 'latest'],
      ['at', pathStore, 'sync', '-to', 's3:/host/b'],
    ]) {
      expect(failsInOneLine(await k(argv), 2), argv.join(' ')).toMatch(new RegExp(`^kloset: ${form.source}`));
    }
    expect(existsSync(join(home.work, 's3:'))).toBe(false);
  });

  it('a malformed location saved in the configuration by hand names the entry (exit 1)', async () => {
    ok(await k(['store', 'add', 'by-hand', join(home.dir, 'by-hand')]));
    const config = await readFile(home.config, 'utf8');
    await writeFile(home.config, config.replace(join(home.dir, 'by-hand'), 's3:/host/b'));
    expect(failsInOneLine(await k(['at', '@by-hand', 'ls']))).toMatch(
      new RegExp(`^kloset: store @by-hand: ${form.source}`),
    );
  });
});

describe('an S3 store or destination that cannot be used', () => {
  it('the store is named: wrong secret key, unreachable endpoint, TLS against plain HTTP', async () => {
    const cases = [
      {
        name: 'st-secret',
        location: `s3://${env.host}/${bucket}`,
        more: [...secrets('nope'), 'use_tls=false'],
      },
      {
        name: 'st-unreachable',
        location: `s3://${UNREACHABLE}/st-bucket`,
        more: [...secrets(), 'use_tls=false'],
      },
      { name: 'st-tls', location: `s3://${env.host}/${bucket}`, more: [...secrets(), 'use_tls=true'] },
    ];
    for (const c of cases) {
      ok(await k(['store', 'add', c.name, `location=${c.location}`, ...c.more]));
      const line = failsInOneLine(await k(['at', `@${c.name}`, 'ls']));
      expect(line.startsWith(`kloset: store @${c.name} (${c.location}): `), line).toBe(true);
      expect(count(line, `@${c.name}`), line).toBe(1);
    }
  }, 120_000);

  it('restore -to an unreachable destination names it', async () => {
    const location = `s3://${UNREACHABLE}/rst-bucket`;
    ok(
      await k([
        'destination',
        'add',
        'dst-unreachable',
        `location=${location}`,
        ...secrets(),
        'use_tls=false',
      ]),
    );
    const line = failsInOneLine(await k(['at', pathStore, 'restore', '-to', '@dst-unreachable', 'latest']));
    expect(line.startsWith(`kloset: destination @dst-unreachable (${location}): `), line).toBe(true);
    expect(line).toMatch(/rst-bucket/);
  });
});
