/**
 * Leftovers of interrupted writes, through the built binary: `maintenance` removes a local store's
 * old temporary files and an S3 store's old incomplete multipart uploads (past -grace, and only
 * the store's own); a restore into a bucket aborts its own uploads when interrupted (SIGTERM),
 * and at its end the incomplete uploads under its prefix older than abort_uploads_after (what a
 * restore killed with SIGKILL left).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { incompleteUploadKeys, s3TestBuckets, startIncompleteUpload } from '@kloset/s3-common/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliHome, klosetIn, makeCliHome, ok, removeDir } from './helpers/cli-home.ts';
import { jsonLines } from './helpers/run.ts';
import { type SpawnResult, spawnCli } from './helpers/spawn.ts';

const s3 = s3TestBuckets();
const { env, client } = s3;
const PASS = 'leftovers passphrase';
const HOUR = 3_600_000;
const MiB = 1 << 20;

let home: CliHome;
let k: ReturnType<typeof klosetIn>;
/** A local store with one snapshot of `data` (one large incompressible file). */
let localStore: string;
let data: string;
let small: string;

function creds(bucket: string, prefix = ''): string[] {
  return [
    `location=s3://${env.host}/${bucket}${prefix ? `/${prefix}` : ''}`,
    `access_key=${env.accessKey}`,
    `secret_access_key=${env.secretKey}`,
    'use_tls=false',
  ];
}

const maintenanceJson = async (store: string, ...flags: string[]) =>
  jsonLines(ok(await k(['at', store, 'maintenance', '-json', ...flags])).stdout)[0]!;

beforeAll(async () => {
  await s3.ready();
  home = await makeCliHome('leftovers');
  k = klosetIn(home, { KLOSET_PASSPHRASE: PASS });
  const installing = k(['pkg', 'add', 's3']);
  data = join(home.dir, 'tree');
  await mkdir(data);
  // Incompressible, and large enough (12 parts of 8 MiB) for a restore to be caught uploading it.
  await writeFile(join(data, 'big.bin'), randomBytes(96 * MiB));
  await writeFile(join(data, 'small.txt'), 'small\n');
  small = join(home.dir, 'small');
  await mkdir(small);
  await writeFile(join(small, 'a.txt'), 'small\n');
  localStore = join(home.dir, 'local-store');
  ok(await k(['at', localStore, 'create']));
  ok(await k(['at', localStore, 'backup', data]));
  ok(await installing);
}, 300_000);
afterAll(async () => {
  await removeDir(home?.dir);
  await s3.dispose();
});

describe('maintenance removes what interrupted writes left', () => {
  it('in a local store: the temporary files older than -grace, not the younger ones, not in a dry run', async () => {
    const dayAgo = new Date(Date.now() - 25 * HOUR);
    const shard = (await readdir(join(localStore, 'packfiles')))[0]!;
    const tmp = (dir: string, name: string) =>
      join(localStore, dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
    const old = [
      tmp(join('packfiles', shard), `${shard}${'1'.repeat(62)}`),
      tmp('states', 'a'.repeat(64)),
      tmp('snapshots', 'b'.repeat(64)),
      tmp('.', 'config'),
    ];
    const young = tmp('locks', 'c'.repeat(64));
    for (const [i, path] of old.entries()) {
      await writeFile(path, new Uint8Array(1000 * (i + 1)));
      await utimes(path, dayAgo, dayAgo);
    }
    await writeFile(young, new Uint8Array(77));
    const stranger = join(localStore, 'states', 'notes.tmp');
    await writeFile(stranger, 'not kloset');
    await utimes(stranger, dayAgo, dayAgo);

    expect(await maintenanceJson(localStore, '-dry-run')).toMatchObject({ leftovers: 0, leftover_bytes: 0 });
    for (const path of [...old, young]) await stat(path);

    const text = ok(await k(['at', localStore, 'maintenance']));
    expect(text.stdout).toContain(
      'removed 4 leftovers of interrupted writes older than 24h00m00s (9.77 KiB)',
    );
    for (const path of old) await expect(stat(path)).rejects.toThrow(/ENOENT/);
    expect((await stat(young)).size).toBe(77);
    expect((await stat(stranger)).isFile()).toBe(true);

    expect(await maintenanceJson(localStore)).toMatchObject({ leftovers: 0, leftover_bytes: 0 });
    expect(await maintenanceJson(localStore, '-grace', '0s')).toMatchObject({
      leftovers: 1,
      leftover_bytes: 77,
    });
    await expect(stat(young)).rejects.toThrow(/ENOENT/);
    expect((await stat(stranger)).isFile()).toBe(true);
    // The store is whole.
    expect(jsonLines(ok(await k(['at', localStore, 'check', '-json'])).stdout)[0]).toMatchObject({
      ok: true,
    });
  }, 120_000);

  it("in an S3 store: the store's own incomplete uploads past -grace, nothing else in the bucket", async () => {
    const bucket = await s3.create('left-store');
    ok(await k(['store', 'add', 'left-s3', ...creds(bucket, 'kl')]));
    ok(await k(['at', '@left-s3', 'create']));
    ok(await k(['at', '@left-s3', 'backup', small]));
    const id = 'd'.repeat(64);
    await startIncompleteUpload(client, bucket, `kl/packfiles/dd/${id}`, 3000);
    await startIncompleteUpload(client, bucket, `kl/states/${id}`, 400);
    const foreign = ['kl/mine.txt', `other/states/${id}`];
    for (const key of foreign) await startIncompleteUpload(client, bucket, key, 5);

    // Started a moment ago: the default grace period keeps them.
    expect(await maintenanceJson('@left-s3')).toMatchObject({ leftovers: 0, leftover_bytes: 0 });
    expect(await incompleteUploadKeys(client, bucket)).toHaveLength(4);
    expect(await maintenanceJson('@left-s3', '-grace', '0s')).toMatchObject({
      leftovers: 2,
      leftover_bytes: 3400,
    });
    expect(await incompleteUploadKeys(client, bucket)).toEqual(foreign);
    expect(jsonLines(ok(await k(['at', '@left-s3', 'check', '-json'])).stdout)[0]).toMatchObject({
      ok: true,
    });
  }, 120_000);
});

describe('a restore into a bucket', () => {
  /** Runs a restore of `data` into @DEST, and sends `signal` once it has an upload under `prefix`. */
  async function interruptedRestore(
    dest: string,
    bucket: string,
    prefix: string,
    signal: NodeJS.Signals,
  ): Promise<SpawnResult> {
    let pid = 0;
    const run = spawnCli(['at', localStore, 'restore', '-to', `@${dest}`, 'latest'], {
      bin: true,
      cwd: home.work,
      env: { ...home.env, KLOSET_PASSPHRASE: PASS },
      timeoutMs: 120_000,
      onSpawn: (p) => (pid = p),
    });
    let exited = false;
    void run.then(() => (exited = true));
    while (!exited && (await incompleteUploadKeys(client, bucket, prefix)).length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(exited, 'the restore ended before an upload could be caught running').toBe(false);
    // SIGTERM to the launcher (it passes it on); SIGKILL to the process doing the restore (the
    // launcher's child when it made one).
    const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
    const child = text.trim() === '' ? pid : Number(text.trim().split(/\s+/)[0]);
    process.kill(signal === 'SIGKILL' ? child : pid, signal);
    return run;
  }

  it('interrupted by SIGTERM, aborts the uploads it started', async () => {
    const bucket = await s3.create('left-term');
    ok(await k(['destination', 'add', 'left-term', ...creds(bucket)]));
    const r = await interruptedRestore('left-term', bucket, '', 'SIGTERM');
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/^kloset: interrupted\n$/m);
    expect(await incompleteUploadKeys(client, bucket)).toEqual([]);
  }, 180_000);

  it('killed with SIGKILL, leaves an upload that the next restore aborts once older than abort_uploads_after', async () => {
    const bucket = await s3.create('left-kill');
    const prefix = 'into';
    ok(await k(['destination', 'add', 'left-kill', ...creds(bucket, prefix)]));
    ok(await k(['destination', 'add', 'left-kill-0s', ...creds(bucket, prefix), 'abort_uploads_after=0s']));
    // Someone else's upload beside the prefix is never touched.
    await startIncompleteUpload(client, bucket, 'into-not/x.bin', 5);
    const killed = await interruptedRestore('left-kill', bucket, `${prefix}/`, 'SIGKILL');
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    expect(await incompleteUploadKeys(client, bucket, `${prefix}/`)).toEqual([`${prefix}/big.bin`]);
    // A rerun with the default (24 h) keeps the young upload: it could be another live restore's.
    ok(await k(['at', localStore, 'restore', '-to', '@left-kill', 'latest']));
    expect(await incompleteUploadKeys(client, bucket, `${prefix}/`)).toEqual([`${prefix}/big.bin`]);
    ok(await k(['at', localStore, 'restore', '-to', '@left-kill-0s', 'latest']));
    expect(await incompleteUploadKeys(client, bucket)).toEqual(['into-not/x.bin']);
  }, 300_000);
});
