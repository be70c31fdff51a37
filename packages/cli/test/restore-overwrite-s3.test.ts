/**
 * `restore -overwrite always|if-changed|never` and `-dry-run` into a bucket (Ceph RGW), through the
 * built binary, of a bucket snapshot: the destination bucket holds some objects identical to the
 * snapshot's (a small one, compared by its MD5 ETag against the recorded one, and one uploaded
 * in parts at backup, whose ETag is no MD5: compared by its bytes), some different (same size,
 * another size) and lacks some. Identical objects carry a user metadata value the snapshot has
 * not: an object left alone keeps it. Each mode is run dry first (the bucket must not change),
 * then for real. A dry run into a missing bucket does not create it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { HeadBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { type ObjectView, s3TestBuckets, seedObjects, viewObjects } from '@kloset/s3-common/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliHome, klosetIn, makeCliHome, ok, removeDir } from './helpers/cli-home.ts';
import { jsonLines } from './helpers/run.ts';

const s3 = s3TestBuckets();
const { env, client } = s3;
const MiB = 1 << 20;

const big = randomBytes(6 * MiB);
/** The source bucket: 6 objects, one of them in a "directory" (so 2 directories: the root and dir). */
const SOURCE: Record<string, Buffer> = {
  'same.txt': Buffer.from('identical content\n'),
  'same-size.txt': Buffer.from('AAAAAAAAAAAAAAAA\n'),
  'other-size.txt': Buffer.from('the snapshot has this\n'),
  'absent.txt': Buffer.from('not in the destination yet\n'),
  'dir/absent2.txt': Buffer.from('under a prefix the destination lacks\n'),
  'big.bin': big,
};
/** What each destination bucket holds before its restore. */
const BEFORE: Record<string, Buffer> = {
  'same.txt': SOURCE['same.txt']!,
  'same-size.txt': Buffer.from('BBBBBBBBBBBBBBBB\n'),
  'other-size.txt': Buffer.from('the destination has this longer content\n'),
  'big.bin': big,
};
const PREPARED = { prepared: 'before the restore' };

const EXPECTED = {
  always: { entries: 8, replaced: null, skipped: 0, skipped_identical: 0, skipped_existing: 0 },
  'if-changed': { entries: 6, replaced: 2, skipped: 2, skipped_identical: 2, skipped_existing: 0 },
  never: { entries: 4, replaced: 0, skipped: 4, skipped_identical: 0, skipped_existing: 4 },
} as const;

let home: CliHome;
let k: ReturnType<typeof klosetIn>;
let storeDir: string;
let snapshot: string;

function creds(bucket: string): string[] {
  return [
    `location=s3://${env.host}/${bucket}`,
    `access_key=${env.accessKey}`,
    `secret_access_key=${env.secretKey}`,
    `use_tls=${env.useTls}`,
  ];
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A new destination bucket holding BEFORE (every object with PREPARED metadata), named `@dst-NAME`. */
async function destination(name: string): Promise<string> {
  const bucket = await s3.create(`ow-${name}`);
  for (const [Key, Body] of Object.entries(BEFORE)) {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key, Body, Metadata: PREPARED }));
  }
  ok(await k(['destination', 'add', `dst-${name}`, ...creds(bucket)]));
  return bucket;
}

interface RestoreJson {
  dry_run: boolean;
  overwrite: string;
  entries: number;
  replaced: number | null;
  skipped: number;
  failed_count: number;
}

beforeAll(async () => {
  await s3.ready();
  home = await makeCliHome('restore-overwrite-s3');
  k = klosetIn(home, { KLOSET_PASSPHRASE: 'overwrite s3 passphrase' });
  ok(await k(['pkg', 'add', 's3']));
  const source = await s3.create('ow-src');
  await seedObjects(
    client,
    source,
    '',
    Object.entries(SOURCE).map(([key, body]) => ({
      key,
      body,
      ...(key === 'big.bin' ? { multipartPartSize: 5 * MiB } : {}),
    })),
  );
  ok(await k(['source', 'add', 'ow-src', ...creds(source)]));
  storeDir = join(home.dir, 'store');
  ok(await k(['at', storeDir, 'create']));
  const backup = jsonLines(ok(await k(['at', storeDir, 'backup', '-json', '@ow-src'])).stdout)[0]!;
  snapshot = (backup.snapshot as { id: string }).id;
}, 180_000);

afterAll(async () => {
  await s3.dispose();
  await removeDir(home?.dir);
});

describe('restore -overwrite into a bucket', { timeout: 180_000 }, () => {
  for (const mode of ['always', 'if-changed', 'never'] as const) {
    it(`-overwrite ${mode}: a dry run changes nothing, then the restore does what the mode says`, async () => {
      const bucket = await destination(mode);
      const expected = EXPECTED[mode];
      const before = await viewObjects(client, bucket, '');
      const to = `@dst-${mode}`;

      const dry = ok(
        await k(['at', storeDir, 'restore', '-json', '-dry-run', '-overwrite', mode, '-to', to, snapshot]),
      );
      expect(jsonLines(dry.stdout)[0] as unknown as RestoreJson).toMatchObject({
        dry_run: true,
        overwrite: mode,
        failed_count: 0,
        ...expected,
      });
      expect(await viewObjects(client, bucket, ''), 'the bucket after a dry run').toEqual(before);

      const wet = ok(await k(['at', storeDir, 'restore', '-overwrite', mode, '-to', to, snapshot]));
      const line = wet.stdout.trim();
      if (mode === 'always')
        expect(line).toMatch(/^restored 8 entries \([^)]*\) of [0-9a-f]{8}:\/ to @dst-always/);
      else {
        expect(line).toMatch(
          new RegExp(
            `^restored ${expected.entries} entries \\([^,]+, ${expected.replaced} replaced\\) of [0-9a-f]{8}:/ to @dst-${mode}.*; ` +
              `skipped ${expected.skipped} \\(${expected.skipped_identical} identical, ${expected.skipped_existing} existing\\)$`,
          ),
        );
      }

      const after = await viewObjects(client, bucket, '');
      expect([...after.keys()].sort()).toEqual(Object.keys(SOURCE).sort());
      const view = (key: string): ObjectView => after.get(key)!;
      for (const key of ['absent.txt', 'dir/absent2.txt']) {
        expect(view(key).sha256, `${key} restored`).toBe(sha256(SOURCE[key]!));
      }
      for (const key of ['same-size.txt', 'other-size.txt']) {
        const want = mode === 'never' ? BEFORE[key]! : SOURCE[key]!;
        expect(view(key).sha256, `${key} after -overwrite ${mode}`).toBe(sha256(want));
      }
      for (const key of ['same.txt', 'big.bin']) {
        expect(view(key).sha256).toBe(sha256(SOURCE[key]!));
        // Rewritten (with the snapshot's metadata) only with always; left alone otherwise.
        expect(view(key).metadata, `metadata of ${key}`).toEqual(mode === 'always' ? {} : PREPARED);
      }
      if (mode === 'never') expect(view('same-size.txt').metadata).toEqual(PREPARED);
    });
  }

  it('-dry-run into a bucket that does not exist does not create it', async () => {
    const bucket = s3.name('ow-none');
    ok(await k(['destination', 'add', 'dst-none', ...creds(bucket)]));
    const r = ok(
      await k([
        'at',
        storeDir,
        'restore',
        '-json',
        '-dry-run',
        '-overwrite',
        'never',
        '-to',
        '@dst-none',
        snapshot,
      ]),
    );
    expect(jsonLines(r.stdout)[0]).toMatchObject({ dry_run: true, entries: 8, skipped: 0, replaced: 0 });
    await expect(client.send(new HeadBucketCommand({ Bucket: bucket }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 404 },
    });
  });
});
