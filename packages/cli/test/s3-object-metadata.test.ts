/**
 * An object's headers, user metadata and tags in `ls -l`, `ls -json` and `diff`, through the built
 * binary against the S3 test server (Ceph RGW): a bucket whose objects carry Content-Type,
 * Cache-Control, Content-Disposition, user metadata and tags is backed up; its Content-Types, one
 * tag and one user metadata key are changed (one object's body too, one object's tags alone) and
 * it is backed up again; diff names exactly those changes. Bucket entries show their type and
 * dashes as mode (no `?`); a local directory's entries keep their real modes.
 */
import { createHash } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PutObjectTaggingCommand } from '@aws-sdk/client-s3';
import { type SeedObject, s3TestBuckets, seedObjects } from '@kloset/s3-common/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliHome, failsInOneLine, makeCliHome, ok, removeDir } from './helpers/cli-home.ts';
import { jsonLines } from './helpers/run.ts';
import { type SpawnResult, spawnCli } from './helpers/spawn.ts';

const s3 = s3TestBuckets();
const { env, client } = s3;

let home: CliHome;
let bucket: string;
let store: string;
const snaps: string[] = [];

/** The built binary in the test's home; no AWS_* variable of the caller's environment reaches it. */
function k(argv: readonly string[]): Promise<SpawnResult> {
  const unset: Record<string, undefined> = {};
  for (const name of Object.keys(process.env)) if (name.startsWith('AWS_')) unset[name] = undefined;
  return spawnCli(argv, {
    bin: true,
    cwd: home.work,
    env: { ...unset, ...home.env, KLOSET_PASSPHRASE: 'object metadata' },
    timeoutMs: 180_000,
  });
}

const md5 = (body: string): string => createHash('md5').update(body).digest('hex');
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

const INDEX = '<html>hello</html>\n';
const LOGO = '<svg/>\n';
const APP_V1 = 'console.log(1);\n';
const APP_V2 = 'console.log(2);\n';

const index = (
  contentType: string,
  tags: Record<string, string>,
  metadata: Record<string, string>,
): SeedObject => ({
  key: 'site/index.html',
  body: text(INDEX),
  contentType,
  cacheControl: 'max-age=60',
  contentDisposition: 'inline; filename="index.html"',
  metadata,
  tags,
});
const logo = (contentType: string): SeedObject => ({
  key: 'site/logo.svg',
  body: text(LOGO),
  contentType,
  cacheControl: 'no-cache',
  metadata: { owner: 'bob' },
  tags: { color: 'green' },
});
const app = (body: string, contentType: string): SeedObject => ({
  key: 'site/app.js',
  body: text(body),
  contentType,
  tags: { team: 'web' },
});

/** The first backup's objects; keep.txt is never touched. */
const FIRST: SeedObject[] = [
  index('text/plain', { color: 'red', team: 'web' }, { owner: 'alice' }),
  logo('image/svg'),
  app(APP_V1, 'text/plain'),
  { key: 'notes.txt', body: text('notes\n'), contentType: 'text/plain', tags: { status: 'draft' } },
  { key: 'keep.txt', body: text('keep\n'), contentType: 'text/plain', metadata: { kept: 'yes' } },
];

async function backup(): Promise<string> {
  const r = ok(await k(['at', store, 'backup', '-json', '@bucket']));
  const snap = jsonLines(r.stdout)[0]!.snapshot as { id: string; summary: { errors: number } };
  expect(snap.summary.errors).toBe(0);
  return snap.id;
}

async function lsJson(ref: string): Promise<Record<string, unknown>[]> {
  return jsonLines(ok(await k(['at', store, 'ls', '-json', ref])).stdout);
}

/** Lines of `ls -l` for one entry: its own, then its indented metadata lines. */
function linesOf(stdout: string, path: string): string[] {
  const lines = stdout.trimEnd().split('\n');
  const at = lines.findIndex((l) => l.endsWith(`  ${path}`));
  expect(at, `${path} in:\n${stdout}`).toBeGreaterThanOrEqual(0);
  const out = [lines[at]!];
  for (let i = at + 1; i < lines.length && lines[i]!.startsWith('    '); i++) out.push(lines[i]!);
  return out;
}

beforeAll(async () => {
  bucket = await s3.create('meta-src');
  await seedObjects(client, bucket, '', FIRST);
  home = await makeCliHome('s3-meta');
  ok(await k(['pkg', 'add', 's3']));
  ok(
    await k([
      'source',
      'add',
      'bucket',
      `location=s3://${env.host}/${bucket}`,
      `access_key=${env.accessKey}`,
      `secret_access_key=${env.secretKey}`,
      'use_tls=false',
      // A tag changed with PutObjectTagging keeps LastModified on Amazon S3 (README, "Unchanged objects").
      'refresh_metadata=true',
    ]),
  );
  store = join(home.dir, 'store');
  ok(await k(['at', store, 'create']));
  snaps.push(await backup());
}, 180_000);

afterAll(() => s3.dispose());
afterAll(() => removeDir(home?.dir));

describe('ls of a bucket snapshot', { timeout: 60_000 }, () => {
  it('-l shows each header, user metadata, tag, storage class, ETag and the key under the entry', async () => {
    const out = ok(await k(['at', store, 'ls', '-l', 'latest:/site'])).stdout;
    const lines = linesOf(out, '/site/index.html');
    expect(lines[0]).toMatch(
      /^---------- {2} +19 B {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}\/site\/index\.html$/,
    );
    const details = lines.slice(1);
    expect(details.slice(0, 8)).toEqual([
      '    content-type: text/plain',
      '    content-disposition: inline; filename="index.html"',
      '    cache-control: max-age=60',
      '    meta owner: alice',
      '    tag color: red',
      '    tag team: web',
      '    storage-class: STANDARD',
      `    etag: ${md5(INDEX)}`,
    ]);
    // Then what else the source recorded, by its stored key: the exact key at least.
    expect(details.slice(8)).toContain('    s3.key: site/index.html');
    for (const l of details.slice(8)) expect(l).toMatch(/^ {4}s3\.[a-z0-9.-]+: \S/);
    expect(linesOf(out, '/site/logo.svg').slice(1, 5)).toEqual([
      '    content-type: image/svg',
      '    cache-control: no-cache',
      '    meta owner: bob',
      '    tag color: green',
    ]);
  });

  it('shows type and dashes for objects and prefixes (never "?"); without -l, one line per entry', async () => {
    const out = ok(await k(['at', store, 'ls', '-recursive', 'latest'])).stdout;
    expect(out).not.toContain('?');
    const lines = out.trimEnd().split('\n');
    expect(lines.map((l) => l.slice(0, 10))).toEqual([
      '----------',
      '----------',
      'd---------',
      '----------',
      '----------',
      '----------',
    ]);
    expect(lines.map((l) => l.split('  ').at(-1))).toEqual([
      '/keep.txt',
      '/notes.txt',
      '/site',
      '/site/app.js',
      '/site/index.html',
      '/site/logo.svg',
    ]);
    const dir = linesOf(ok(await k(['at', store, 'ls', '-l', 'latest'])).stdout, '/site');
    expect(dir[0]).toMatch(/^d--------- {2}/);
    expect(dir.slice(1)).toEqual(['    s3.prefix: site/']);
  });

  it('-json carries headers, user metadata, tags, storage class and ETag as fields', async () => {
    const [entry] = await lsJson('latest:/site/index.html');
    expect(entry).toMatchObject({
      path: '/site/index.html',
      type: 'file',
      size: INDEX.length,
      mode: null,
      headers: {
        'content-type': 'text/plain',
        'content-disposition': 'inline; filename="index.html"',
        'cache-control': 'max-age=60',
      },
      metadata: { owner: 'alice' },
      tags: { color: 'red', team: 'web' },
      storage_class: 'STANDARD',
      etag: md5(INDEX),
    });
    expect(Object.keys(entry!.headers as object)).toHaveLength(3);
    expect((entry!.attributes as Record<string, string>)['s3.key']).toBe('site/index.html');
    const [keep] = await lsJson('latest:/');
    expect(keep).toMatchObject({
      path: '/keep.txt',
      mode: null,
      metadata: { kept: 'yes' },
      tags: {},
    });
  });

  it('-l without a snapshot is a usage error in one line', async () => {
    expect(failsInOneLine(await k(['at', store, 'ls', '-l']), 2)).toBe(
      'kloset: ls: -l lists the entries of a snapshot: give SNAPSHOT[:PATH] (see "kloset ls -h")',
    );
  });
});

describe('diff of two bucket snapshots', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    // Content-Types changed, one tag changed and one user metadata key added (same bodies); one
    // body changed with its Content-Type; one object's tags alone; keep.txt untouched.
    await seedObjects(client, bucket, '', [
      index('text/html', { color: 'blue', team: 'web' }, { owner: 'alice', reviewed: 'yes' }),
      logo('image/svg+xml'),
      app(APP_V2, 'text/javascript'),
    ]);
    await client.send(
      new PutObjectTaggingCommand({
        Bucket: bucket,
        Key: 'notes.txt',
        Tagging: { TagSet: [{ Key: 'status', Value: 'final' }] },
      }),
    );
    snaps.push(await backup());
  }, 120_000);

  it('names each header, metadata and tag change under its path, content changes as before', async () => {
    const [a, b] = snaps as [string, string];
    const r = ok(await k(['at', store, 'diff', a, b]));
    // The prefixes' mtimes follow their objects' LastModified; keep.txt is not there.
    expect(r.stdout.trimEnd().split('\n')).toEqual([
      '~ /  (mtime)',
      expect.stringMatching(/^~ \/notes\.txt {2}\((mtime, )?metadata\)$/),
      '    ~ tag status: draft -> final',
      '~ /site/  (mtime)',
      '~ /site/app.js  (content, mtime, metadata)',
      '    ~ content-type: text/plain -> text/javascript',
      `    ~ etag: ${md5(APP_V1)} -> ${md5(APP_V2)}`,
      '~ /site/index.html  (mtime, metadata)',
      '    ~ content-type: text/plain -> text/html',
      '    + meta reviewed: yes',
      '    ~ tag color: red -> blue',
      '~ /site/logo.svg  (mtime, metadata)',
      '    ~ content-type: image/svg -> image/svg+xml',
    ]);
    expect(r.stderr).toMatch(/^kloset: 6 differences from \w{8}:\/ to \w{8}:\/\n$/);
  });

  it('-json lists the same changes, structured', async () => {
    const [a, b] = snaps as [string, string];
    const records = jsonLines(ok(await k(['at', store, 'diff', '-json', a, b])).stdout);
    const changes = Object.fromEntries(
      records.filter((c) => c.type === 'file').map((c) => [c.path as string, c.changes]),
    );
    expect(changes).toEqual({
      '/notes.txt': [{ kind: 'tag', field: 'status', change: 'changed', from: 'draft', to: 'final' }],
      '/site/app.js': [
        {
          kind: 'header',
          field: 'content-type',
          change: 'changed',
          from: 'text/plain',
          to: 'text/javascript',
        },
        { kind: 'etag', field: 'etag', change: 'changed', from: md5(APP_V1), to: md5(APP_V2) },
      ],
      '/site/index.html': [
        { kind: 'header', field: 'content-type', change: 'changed', from: 'text/plain', to: 'text/html' },
        { kind: 'metadata', field: 'reviewed', change: 'added', from: null, to: 'yes' },
        { kind: 'tag', field: 'color', change: 'changed', from: 'red', to: 'blue' },
      ],
      '/site/logo.svg': [
        { kind: 'header', field: 'content-type', change: 'changed', from: 'image/svg', to: 'image/svg+xml' },
      ],
    });
    const index = records.find((c) => c.path === '/site/index.html')!;
    expect(index.fields).toEqual(['mtime', 'metadata']);
    expect((index.after as { tags: unknown }).tags).toEqual({ color: 'blue', team: 'web' });
    for (const c of records.filter((r) => r.type === 'directory')) expect(c.changes).toEqual([]);
  });
});

describe('ls of a local directory snapshot', () => {
  it('keeps the real modes, and -l adds no line when the source recorded no metadata', async () => {
    const tree = join(home.dir, 'tree');
    await mkdir(join(tree, 'sub'), { recursive: true });
    await writeFile(join(tree, 'sub', 'f.txt'), 'f\n');
    await chmod(join(tree, 'sub', 'f.txt'), 0o640);
    await chmod(join(tree, 'sub'), 0o750);
    const id = jsonLines(ok(await k(['-json', 'at', store, 'backup', tree])).stdout)[0]!.snapshot as {
      id: string;
    };
    const out = ok(await k(['at', store, 'ls', '-l', '-recursive', id.id])).stdout;
    expect(out).toMatch(/^drwxr-x--- {2}.* {2}\/sub\n-rw-r----- {2}.* {2}\/sub\/f\.txt\n$/);
    const [f] = await lsJson(`${id.id}:/sub/f.txt`);
    expect(f).toMatchObject({
      mode: 0o640,
      headers: {},
      metadata: {},
      tags: {},
      storage_class: null,
      etag: null,
    });
  });
});
