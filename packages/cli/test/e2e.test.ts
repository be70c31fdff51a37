/**
 * End to end through the binary (bin/kloset.js, running dist/ when built) on local directories:
 * create, backup, ls, restore, check, info, rm; a wrong passphrase; a flipped byte in a packfile.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir } from './helpers/cli-home.ts';
import { jsonLines } from './helpers/run.ts';
import { type SpawnResult, spawnCli } from './helpers/spawn.ts';
import { describeTree, fingerprint, flipByteOfLargestFile, makeSampleTree } from './helpers/tree.ts';

let home: string;
let env: Record<string, string>;

function k(argv: string[], extraEnv: Record<string, string> = {}): Promise<SpawnResult> {
  return spawnCli(argv, { bin: true, env: { ...env, ...extraEnv }, timeoutMs: 120_000 });
}

function ok(r: SpawnResult): SpawnResult {
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
  return r;
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'kloset-e2e-'));
  env = {
    HOME: home,
    XDG_CONFIG_HOME: join(home, 'config'),
    XDG_CACHE_HOME: join(home, 'cache'),
    XDG_DATA_HOME: join(home, 'data'),
    KLOSET_PASSPHRASE: 'correct horse battery staple',
  };
});
afterAll(() => removeDir(home));

describe('a local store, end to end', () => {
  let store: string;
  let data: string;
  let snapshotId: string;

  beforeAll(async () => {
    store = join(home, 'store');
    data = join(home, 'data-tree');
    await makeSampleTree(data);
  });

  it('create, then refuse to create again', async () => {
    const r = ok(await k(['at', store, 'create', '-json']));
    expect(jsonLines(r.stdout)[0]).toMatchObject({ location: store, encrypted: true });
    const again = await k(['at', store, 'create']);
    expect(again.code).toBe(1);
    expect(again.stderr.split('\n').filter(Boolean)).toHaveLength(1);
  });

  it('backup, ls, info', async () => {
    const r = ok(await k(['at', store, 'backup', '-json', '-tag', 'first', data]));
    const snap = jsonLines(r.stdout)[0]!.snapshot as { id: string; summary: { files: number } };
    snapshotId = snap.id;
    expect(snap.summary.files).toBe(6);
    const list = jsonLines(ok(await k(['at', store, 'ls', '-json'])).stdout);
    expect(list.map((s) => s.id)).toEqual([snapshotId]);
    const human = ok(await k(['at', store, 'ls', `${snapshotId.slice(0, 8)}:/docs`])).stdout;
    expect(human).toMatch(/\/docs\/readme\.txt\n/);
    const entries = jsonLines(ok(await k(['at', store, 'ls', '-json', '-recursive', 'latest'])).stdout);
    expect(entries.map((e) => e.path)).toContain('/héllo wörld ✓.txt');
    expect(entries.find((e) => e.path === '/link-to-readme')).toMatchObject({
      type: 'symlink',
      link: 'docs/readme.txt',
    });
    const info = jsonLines(ok(await k(['at', store, 'info', '-json'])).stdout)[0]!;
    expect(info).toMatchObject({ snapshots: 1, store: { encrypted: true } });
    const snapInfo = jsonLines(ok(await k(['at', store, 'info', '-json', 'latest'])).stdout)[0]!;
    expect(snapInfo.snapshot).toMatchObject({ id: snapshotId, tags: ['first'] });
  });

  it('restore gives back the same tree; a path restores alone', async () => {
    const out = join(home, 'restored');
    ok(await k(['at', store, 'restore', '-to', out, snapshotId.slice(0, 8)]));
    expect(await describeTree(out)).toEqual(await describeTree(data));
    const part = join(home, 'restored-part');
    ok(await k(['at', store, 'restore', '-to', part, 'latest:/docs/deep']));
    expect(await describeTree(part)).toEqual(await describeTree(join(data, 'docs', 'deep')));
  });

  it('check and check -fast pass', async () => {
    expect(jsonLines(ok(await k(['at', store, 'check', '-json'])).stdout)[0]).toMatchObject({
      ok: true,
      problem_count: 0,
    });
    ok(await k(['at', store, 'check', '-fast']));
  });

  it('a wrong passphrase fails in one line and writes nothing', async () => {
    const before = await fingerprint(store);
    for (const argv of [['ls'], ['backup', data], ['rm', 'latest']]) {
      const r = await k(['at', store, ...argv], { KLOSET_PASSPHRASE: 'wrong' });
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`kloset: wrong passphrase (from KLOSET_PASSPHRASE) for store ${store}\n`);
    }
    expect(await fingerprint(store)).toEqual(before);
  });

  it('rm removes the snapshot', async () => {
    ok(await k(['at', store, 'backup', data]));
    const rm = jsonLines(ok(await k(['at', store, 'rm', '-json', snapshotId.slice(0, 8)])).stdout)[0]!;
    expect(rm).toEqual({ removed: [snapshotId] });
    expect(jsonLines(ok(await k(['at', store, 'ls', '-json'])).stdout).map((s) => s.id)).not.toContain(
      snapshotId,
    );
  });
});

describe('a flipped byte in a packfile', () => {
  it('check names the file and exits 4; restore refuses the corrupt content', async () => {
    const store = join(home, 'store-corrupt');
    const data = join(home, 'data-corrupt');
    await makeSampleTree(data, 2 << 20);
    ok(await k(['at', store, 'create']));
    ok(await k(['at', store, 'backup', data]));
    // The largest file of the store is the packfile holding big.bin; flip a byte in its middle.
    await flipByteOfLargestFile(store);

    const check = await k(['at', store, 'check']);
    expect(check.code).toBe(4);
    expect(check.stderr).toContain('/big.bin');
    expect(check.stderr.trimEnd().split('\n').at(-1)).toMatch(
      /^kloset: check found \d+ problems?: run 'kloset repair'/,
    );
    const json = await k(['at', store, 'check', '-json']);
    expect(json.code).toBe(4);
    const result = jsonLines(json.stdout)[0]!;
    expect(result.ok).toBe(false);
    expect((result.problems as { path: string }[]).map((p) => p.path)).toContain('/big.bin');

    const out = join(home, 'restored-corrupt');
    const restore = await k(['at', store, 'restore', '-to', out, 'latest']);
    expect(restore.code).toBe(4);
    expect(restore.stderr).toContain('/big.bin');
    await expect(readFile(join(out, 'big.bin'))).rejects.toThrow(/ENOENT/);
    expect(await readFile(join(out, 'docs', 'readme.txt'), 'utf8')).toBe('hello kloset\n');
  });
});
