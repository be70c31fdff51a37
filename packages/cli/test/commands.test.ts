/** Every command over an in-memory engine: JSON shapes, human output, exit codes, passphrases. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { metadataJson } from '../src/commands/entry-metadata.ts';
import { ExitCode } from '../src/exit-codes.ts';
import { removeDir } from './helpers/cli-home.ts';
import { MemoryEngine, memDestinations, memManifest, memSources, record } from './helpers/memory-engine.ts';
import { jsonLines, run } from './helpers/run.ts';

let engine: MemoryEngine;
let home: string;
const STORE = 'mem://store';

function k(argv: string[], env: Record<string, string> = {}) {
  return run(argv, {
    engine,
    builtins: [memManifest],
    env: { KLOSET_PASSPHRASE: 'secret', XDG_CONFIG_HOME: join(home, 'config'), ...env },
  });
}

const SNAPSHOT_KEYS = [
  'duration_ms',
  'hostname',
  'id',
  'name',
  'short_id',
  'source',
  'summary',
  'tags',
  'time',
  'username',
];

beforeEach(async () => {
  engine = new MemoryEngine();
  home = await mkdtemp(join(tmpdir(), 'kloset-cli-'));
  memSources.set('mem://data', [
    record('/', 'directory'),
    record('/a', 'directory'),
    record('/a/f1', 'file', { size: 10 }),
    record('/a/sub', 'directory'),
    record('/a/sub/f2', 'file', { size: 5 }),
    record('/top', 'file', { size: 1 }),
  ]);
});
afterEach(() => removeDir(home));

async function backup(extra: string[] = []): Promise<string> {
  const r = await k(['at', STORE, 'backup', '-json', ...extra, 'mem://data']);
  expect(r.code).toBe(0);
  return (jsonLines(r.stdout)[0]!.snapshot as { id: string }).id;
}

describe('create', () => {
  it('prints the store as one JSON line', async () => {
    const r = await k(['at', STORE, 'create', '-json']);
    expect(r.code).toBe(0);
    const [line, ...rest] = jsonLines(r.stdout);
    expect(rest).toEqual([]);
    expect(Object.keys(line!).sort()).toEqual(
      [
        'chunking',
        'compression',
        'created',
        'encrypted',
        'location',
        'packfile_size',
        'store_id',
        'version',
      ].sort(),
    );
    expect(line!.encrypted).toBe(true);
    expect(line!.store_id).toMatch(/^[0-9a-f]{64}$/);
  });

  it('-plaintext asks for no passphrase', async () => {
    const r = await k(['at', STORE, 'create', '-plaintext'], { KLOSET_PASSPHRASE: '' });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('created plaintext store at mem://store\n');
  });

  it('without a passphrase and no terminal: one line, exit 1', async () => {
    const r = await k(['at', STORE, 'create'], { KLOSET_PASSPHRASE: '' });
    expect(r.code).toBe(ExitCode.Error);
    expect(r.stderr).toBe(
      'kloset: a passphrase is needed: set KLOSET_PASSPHRASE, pass -keyfile FILE, or run from a terminal to be asked\n',
    );
    expect(engine.stores.size).toBe(0);
  });

  it('-keyfile reads the first line; KLOSET_PASSPHRASE wins over it', async () => {
    const keyfile = join(home, 'key');
    await writeFile(keyfile, 'from-file\nignored\n');
    expect((await k(['at', STORE, 'create', '-keyfile', keyfile], { KLOSET_PASSPHRASE: '' })).code).toBe(0);
    expect(engine.stores.get(STORE)!.passphrase).toBe('from-file');
    expect(
      (await k(['-keyfile', keyfile, 'at', 'mem://s2', 'create'], { KLOSET_PASSPHRASE: 'env' })).code,
    ).toBe(0);
    expect(engine.stores.get('mem://s2')!.passphrase).toBe('env');
    const missing = await k(['at', 'mem://s3', 'create', '-keyfile', join(home, 'nope')], {
      KLOSET_PASSPHRASE: '',
    });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^kloset: cannot read keyfile .*nope: ENOENT/);
  });
});

describe('a store with snapshots', () => {
  beforeEach(async () => {
    expect((await k(['at', STORE, 'create'])).code).toBe(0);
  });

  it('backup prints the snapshot; ls lists it as JSON Lines', async () => {
    const id = await backup(['-tag', 'daily,x', '-name', 'mine']);
    const r = await k(['at', STORE, 'ls', '-json']);
    const lines = jsonLines(r.stdout);
    expect(lines).toHaveLength(1);
    expect(Object.keys(lines[0]!).sort()).toEqual(SNAPSHOT_KEYS);
    expect(lines[0]).toMatchObject({ id, short_id: id.slice(0, 8), name: 'mine', tags: ['daily', 'x'] });
    expect(lines[0]!.summary).toEqual({
      files: 3,
      directories: 3,
      symlinks: 0,
      errors: 0,
      bytes: 16,
      stored_bytes: 16,
    });
    const human = await k(['at', STORE, 'ls']);
    expect(human.stdout).toMatch(
      new RegExp(
        `^${id.slice(0, 8)}  \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d  16 B  3 files  mine  mem://test/mem://data  \\[daily,x\\]\\n$`,
      ),
    );
  });

  it('ls SNAPSHOT:PATH lists a directory, -recursive the sub-tree, a file itself', async () => {
    const id = await backup();
    const paths = async (argv: string[]) =>
      jsonLines((await k(['at', STORE, 'ls', '-json', ...argv])).stdout).map((l) => l.path);
    expect(await paths([id.slice(0, 6)])).toEqual(['/a', '/top']);
    expect(await paths(['latest:/a'])).toEqual(['/a/f1', '/a/sub']);
    expect(await paths(['latest:/a', '-recursive'])).toEqual(['/a/f1', '/a/sub', '/a/sub/f2']);
    expect(await paths(['latest:/a/f1'])).toEqual(['/a/f1']);
    const entry = jsonLines((await k(['at', STORE, 'ls', '-json', 'latest:/top'])).stdout)[0]!;
    expect(entry).toEqual({
      path: '/top',
      type: 'file',
      size: 1,
      mtime: '2023-11-14T22:13:20.000Z',
      mode: 0o644,
      uid: null,
      gid: null,
      ...metadataJson({}),
    });
    const missing = await k(['at', STORE, 'ls', 'latest:/nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^kloset: .*\/nope: no such entry\n$/);
  });

  it('ls -l escapes metadata like names (one line per key); -json keeps it raw', async () => {
    const metadata = {
      's3.content-type': 'text/plain',
      's3.tag.x\ny': 'a\x1b[31mb',
      's3.meta.path': 'C:\\d',
    };
    memSources.set('mem://meta', [record('/', 'directory'), record('/obj', 'file', { metadata })]);
    expect((await k(['at', STORE, 'backup', 'mem://meta'])).code).toBe(0);
    const lines = (await k(['at', STORE, 'ls', '-l', 'latest'])).stdout.split('\n');
    expect(lines[0]).toMatch(/^-rw-r--r-- {2}.* {2}\/obj$/);
    expect(lines.slice(1)).toEqual([
      '    content-type: text/plain',
      '    meta path: C:\\\\d',
      '    tag x\\ny: a\\x1b[31mb',
      '',
    ]);
    const [entry] = jsonLines((await k(['at', STORE, 'ls', '-json', 'latest:/obj'])).stdout);
    expect(entry).toMatchObject({
      headers: { 'content-type': 'text/plain' },
      tags: { 'x\ny': 'a\x1b[31mb' },
    });
    expect(entry!.metadata).toEqual({ path: 'C:\\d' });
  });

  it('a backup with unreadable entries reports them and exits 3', async () => {
    memSources.set('mem://bad', [
      record('/', 'directory'),
      record('/locked', 'file', { error: 'permission denied' }),
    ]);
    const r = await k(['at', STORE, 'backup', '-json', 'mem://bad']);
    expect(r.code).toBe(ExitCode.Partial);
    expect(r.stderr).toBe('kloset: backup: /locked: permission denied\n');
    expect(jsonLines(r.stdout)[0]).toMatchObject({
      failed: [{ path: '/locked', error: 'permission denied' }],
      failed_count: 1,
    });
  });

  it('restore writes through the destination and reports as JSON', async () => {
    const id = await backup();
    const r = await k(['at', STORE, 'restore', '-json', '-to', 'mem://out', `${id.slice(0, 8)}:/a`]);
    expect(r.code).toBe(0);
    expect(jsonLines(r.stdout)[0]).toEqual({
      snapshot: id,
      path: '/a',
      to: 'mem://out',
      at: null,
      all_versions: false,
      dry_run: false,
      overwrite: 'always',
      entries: 4,
      bytes: 15,
      replaced: null,
      versions: null,
      delete_markers: null,
      skipped: 0,
      skipped_identical: 0,
      skipped_existing: 0,
      failed: [],
      failed_count: 0,
      corrupt: 0,
    });
    expect(memDestinations.get('mem://out')).toEqual(['/a', '/a/f1', '/a/sub', '/a/sub/f2']);
  });

  it('restore: corrupt content exits 4, unwritable entries exit 3', async () => {
    await backup();
    engine.stores.get(STORE)!.corruptPaths.add('/a/f1');
    const r = await k(['at', STORE, 'restore', '-to', 'mem://out', 'latest']);
    expect(r.code).toBe(ExitCode.Integrity);
    expect(r.stderr).toBe('kloset: restore: /a/f1: content fails verification\n');
    memSources.set('mem://data', [record('/', 'directory'), record('/unwritable', 'file')]);
    await backup();
    const partial = await k(['at', STORE, 'restore', '-to', 'mem://out2', 'latest']);
    expect(partial.code).toBe(ExitCode.Partial);
  });

  it('check: ok, or problems naming the file with exit 4', async () => {
    const REPAIR_ADVICE =
      "run 'kloset repair' to rebuild what the packfiles still hold and mark what is lost; the next backup stores lost files again";
    const id = await backup();
    const ok = await k(['at', STORE, 'check', '-json']);
    expect(ok.code).toBe(0);
    expect(jsonLines(ok.stdout)[0]).toEqual({
      ok: true,
      fast: false,
      snapshots: 1,
      entries: 3,
      blobs: 7,
      problems: [],
      problem_count: 0,
      unindexed_packfiles: 0,
      cache_rebuilt: null,
    });
    engine.stores.get(STORE)!.problems.push({
      snapshotId: id,
      path: '/a/f1',
      kind: 'corrupt',
      message: 'blob 12ab fails verification',
    });
    const bad = await k(['at', STORE, 'check', '-fast', 'latest']);
    expect(bad.code).toBe(ExitCode.Integrity);
    expect(bad.stderr).toBe(
      `kloset: check: corrupt: ${id.slice(0, 8)}:/a/f1: blob 12ab fails verification\nkloset: check found 1 problem: ${REPAIR_ADVICE}\n`,
    );
    const json = await k(['at', STORE, 'check', '-json']);
    expect(jsonLines(json.stdout)[0]).toMatchObject({
      ok: false,
      problems: [{ kind: 'corrupt', snapshot: id, path: '/a/f1', message: 'blob 12ab fails verification' }],
      problem_count: 1,
    });
  });

  it('info shows the store or a snapshot', async () => {
    const id = await backup();
    const store = jsonLines((await k(['at', STORE, 'info', '-json'])).stdout)[0]!;
    expect(store).toMatchObject({
      snapshots: 1,
      bytes: 16,
      stored_bytes: 16,
      store: { location: STORE, encrypted: true },
    });
    const snap = jsonLines((await k(['at', STORE, 'info', '-json', 'latest'])).stdout)[0]!;
    expect(Object.keys(snap)).toEqual(['snapshot']);
    expect((snap.snapshot as { id: string }).id).toBe(id);
    expect((await k(['at', STORE, 'info', id])).stdout).toContain(`id:          ${id}`);
  });

  it('rm resolves every id first, then removes', async () => {
    const a = await backup();
    const b = await backup();
    const bad = await k(['at', STORE, 'rm', a, 'ffff']);
    expect(bad.code).toBe(1);
    expect(engine.stores.get(STORE)!.snapshots).toHaveLength(2);
    const r = await k(['at', STORE, 'rm', '-json', a, b.slice(0, 10)]);
    expect(r.code).toBe(0);
    expect(jsonLines(r.stdout)).toEqual([{ removed: [a, b] }]);
    expect(engine.stores.get(STORE)!.snapshots).toHaveLength(0);
  });

  it('backup opens the store while the source connects; a source that fails closes it, its error alone', async () => {
    await backup([]);
    expect(engine.opens).toEqual({ total: 1, open: 0 });
    const r = await k(['at', STORE, 'backup', 'gcs://bucket/x']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'kloset: no source connector for gcs:// locations is installed: add it with "kloset pkg add gcs"\n',
    );
    // Opened early (a passphrase from the environment: no prompt could come), then closed.
    expect(engine.opens).toEqual({ total: 2, open: 0 });
    // With a wrong passphrase too, the source's error is the one reported.
    const both = await k(['at', STORE, 'backup', 'gcs://bucket/x'], { KLOSET_PASSPHRASE: 'wrong' });
    expect(both.stderr).toMatch(/^kloset: no source connector for gcs:\/\//);
    expect(engine.opens.open).toBe(0);
  });

  it('a wrong passphrase fails in one line', async () => {
    const r = await k(['at', STORE, 'ls'], { KLOSET_PASSPHRASE: 'wrong' });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('kloset: wrong passphrase (from KLOSET_PASSPHRASE) for store mem://store\n');
  });

  it('KLOSET_DEBUG=1 adds the stack', async () => {
    const r = await k(['at', STORE, 'ls'], { KLOSET_PASSPHRASE: 'wrong', KLOSET_DEBUG: '1' });
    expect(r.stderr.split('\n')[0]).toBe(
      'kloset: wrong passphrase (from KLOSET_PASSPHRASE) for store mem://store',
    );
    expect(r.stderr).toMatch(/\n\s+at /);
  });
});

describe('locations', () => {
  it('@NAME resolves through the configuration, with its passphrase first', async () => {
    await writeFile(
      join(home, 'config.json'),
      JSON.stringify({
        stores: { s: { location: STORE, passphrase: 'named', region: 'eu' } },
        sources: { d: { location: 'mem://data' } },
      }),
    );
    const env = { XDG_CONFIG_HOME: home.replace(/\/?$/, ''), KLOSET_PASSPHRASE: 'env' };
    // config.json lives in $XDG_CONFIG_HOME/kloset/
    const { mkdir, rename } = await import('node:fs/promises');
    await mkdir(join(home, 'kloset'));
    await rename(join(home, 'config.json'), join(home, 'kloset', 'config.json'));
    expect((await k(['at', '@s', 'create'], env)).code).toBe(0);
    expect(engine.stores.get(STORE)!.passphrase).toBe('named');
    const r = await k(['at', '@s', 'backup', '-json', '@d'], env);
    expect(r.code).toBe(0);
    expect(jsonLines(r.stdout)[0]!.snapshot).toMatchObject({ source: { root: 'mem://data' } });
    const unknown = await k(['at', '@nope', 'ls'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('kloset: unknown store @nope (known stores: s)\n');
    const unknownSource = await k(['at', '@s', 'backup', '@x'], env);
    expect(unknownSource.stderr).toBe('kloset: unknown source @x (known sources: d)\n');
  });

  it('a bad option of a named store is refused by name', async () => {
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(home, 'config', 'kloset'), { recursive: true });
    await writeFile(
      join(home, 'config', 'kloset', 'config.json'),
      JSON.stringify({ stores: { s: { location: STORE, colour: 'red' } } }),
    );
    const r = await k(['at', '@s', 'ls']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('kloset: @s: unknown option "colour" (known: region)\n');
  });

  it('a protocol without a connector says which package to add', async () => {
    const r = await k(['at', 'gcs://bucket/x', 'ls']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'kloset: no storage connector for gcs:// locations is installed: add it with "kloset pkg add gcs"\n',
    );
  });
});
