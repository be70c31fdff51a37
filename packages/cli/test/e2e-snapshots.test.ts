/**
 * The snapshot commands end to end through the binary (bin/kloset.js, the built dist/) on local
 * stores: selection filters on ls/info/check/rm/restore, cat, diff, prune, maintenance, sync
 * between stores with different passphrases; their -json output and their bad inputs.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFile, chmod, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliHome, failsInOneLine, klosetIn, makeCliHome, ok, removeDir } from './helpers/cli-home.ts';
import { jsonLines } from './helpers/run.ts';
import { CLI_BIN, type SpawnResult } from './helpers/spawn.ts';
import { describeTree, flipByteOfLargestFile, makeSampleTree } from './helpers/tree.ts';

const PASS_A = 'passphrase of store A';
const PASS_B = 'another passphrase for B';

let home: CliHome;
let k: (argv: readonly string[], more?: Record<string, string>) => Promise<SpawnResult>;
let storeA: string;
let data: string;
let other: string;
/** Snapshot ids, oldest first: daily (data), weekly (data, changed), daily (other). */
const ids: string[] = [];

const json = async (argv: string[], more: Record<string, string> = {}) =>
  jsonLines(ok(await k(argv, more)).stdout);

beforeAll(async () => {
  home = await makeCliHome('e2e-snap');
  k = klosetIn(home, { KLOSET_PASSPHRASE: PASS_A, TZ: 'UTC' });
  storeA = join(home.dir, 'store-a');
  data = join(home.dir, 'data');
  other = join(home.dir, 'other');
  await makeSampleTree(data, 1 << 20);
  await makeSampleTree(other, 1000);
  ok(await k(['at', storeA, 'create']));
  const backup = async (tag: string, dir: string) => {
    const r = await json(['at', storeA, 'backup', '-json', '-tag', tag, dir]);
    ids.push((r[0]!.snapshot as { id: string }).id);
  };
  await backup('daily', data);
  // Changes between the first two snapshots of `data`.
  await appendFile(join(data, 'docs', 'readme.txt'), 'more\n');
  await chmod(join(data, 'run.sh'), 0o700);
  await writeFile(join(data, 'new.txt'), 'new\n');
  await rm(join(data, 'empty.txt'));
  await backup('weekly', data);
  await backup('daily', other);
}, 180_000);
afterAll(() => removeDir(home?.dir));

describe('selection filters', () => {
  it('ls filters by tag, name and time; an empty result says so and exits 0', async () => {
    expect((await json(['at', storeA, 'ls', '-json'])).map((s) => s.id)).toEqual(ids);
    expect((await json(['at', storeA, 'ls', '-json', '-tag', 'daily'])).map((s) => s.id)).toEqual([
      ids[0],
      ids[2],
    ]);
    expect((await json(['at', storeA, 'ls', '-json', '-name', other])).map((s) => s.id)).toEqual([ids[2]]);
    expect(await json(['at', storeA, 'ls', '-json', '-since', '1h'])).toHaveLength(3);
    const none = ok(await k(['at', storeA, 'ls', '-json', '-tag', 'daily,weekly']));
    expect(none.stdout).toBe('');
    expect(none.stderr).toBe('kloset: no snapshot matches the filter (-tag daily -tag weekly)\n');
    expect(ok(await k(['at', storeA, 'ls', '-before', '2000-01-01'])).stdout).toBe('');
    const second = (await json(['at', storeA, 'ls', '-json']))[1]!.time as string;
    expect((await json(['at', storeA, 'ls', '-json', '-since', second])).map((s) => s.id)).toEqual(
      ids.slice(1),
    );
    expect((await json(['at', storeA, 'ls', '-json', '-before', second])).map((s) => s.id)).toEqual([ids[0]]);
  });

  it('latest is the newest match; info, ls and restore take the filters', async () => {
    const info = await json(['at', storeA, 'info', '-json', '-tag', 'weekly', 'latest']);
    expect((info[0]!.snapshot as { id: string }).id).toBe(ids[1]);
    const entries = await json(['at', storeA, 'ls', '-json', '-name', data, 'latest:/docs']);
    expect(entries.map((e) => e.path)).toContain('/docs/readme.txt');
    const out = join(home.dir, 'restored-daily');
    ok(await k(['at', storeA, 'restore', '-to', out, '-tag', 'daily', '-name', data, 'latest']));
    expect(await readFile(join(out, 'docs', 'readme.txt'), 'utf8')).toBe('hello kloset\n');
  });

  it('check works on the matching snapshots', async () => {
    expect((await json(['at', storeA, 'check', '-json', '-fast', '-tag', 'daily']))[0]).toMatchObject({
      ok: true,
      snapshots: 2,
    });
  });

  it('bad inputs: unknown snapshot, a ref outside the filter, empty filter result, bad duration', async () => {
    expect(failsInOneLine(await k(['at', storeA, 'info', 'ffffffff']))).toBe(
      'kloset: no snapshot matches "ffffffff"',
    );
    expect(failsInOneLine(await k(['at', storeA, 'info', '-tag', 'weekly', ids[0]!.slice(0, 8)]))).toMatch(
      /does not match the filter \(tag "weekly"\)$/,
    );
    expect(failsInOneLine(await k(['at', storeA, 'rm', '-tag', 'nope']))).toBe(
      'kloset: no snapshot matches the filter (-tag nope)',
    );
    expect(failsInOneLine(await k(['at', storeA, 'check', '-name', 'nope']))).toMatch(/no snapshot matches/);
    expect(failsInOneLine(await k(['at', storeA, 'ls', '-since', '7x']), 2)).toMatch(
      /-since "7x" is neither a date/,
    );
    expect(failsInOneLine(await k(['at', storeA, 'maintenance', '-grace', '1y']), 2)).toMatch(
      /not a duration/,
    );
    expect((await json(['at', storeA, 'ls', '-json'])).map((s) => s.id)).toEqual(ids);
  });
});

describe('cat', () => {
  it('prints a file exactly, as text or as base64 JSON records', async () => {
    const r = ok(await k(['at', storeA, 'cat', `${ids[1]!.slice(0, 8)}:/docs/readme.txt`]));
    expect(r.stdout).toBe('hello kloset\nmore\n');
    const lines = await json(['at', storeA, 'cat', '-json', `${ids[0]}:/big.bin`]);
    const summary = lines.pop()!;
    const bytes = Buffer.concat(lines.map((l) => Buffer.from(l.data as string, 'base64')));
    expect(bytes.equals(await readFile(join(data, 'big.bin')))).toBe(true);
    let offset = 0;
    for (const l of lines) {
      expect(l.offset).toBe(offset);
      offset += Buffer.from(l.data as string, 'base64').length;
    }
    expect(summary).toEqual({ snapshot: ids[0], path: '/big.bin', bytes: 1 << 20 });
  });

  it('stops quietly with 141 when its reader goes away (| head)', async () => {
    const env = { ...process.env, ...home.env, KLOSET_PASSPHRASE: PASS_A };
    const child = spawn(process.execPath, [CLI_BIN, 'at', storeA, 'cat', `${ids[0]}:/big.bin`], {
      cwd: home.work,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    // Read one piece, then close the pipe as `head -c` does.
    await once(child.stdout, 'data');
    child.stdout.destroy();
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(stderr).toBe('');
    expect(code).toBe(141);
  });

  it('refuses directories and missing paths in one line', async () => {
    expect(failsInOneLine(await k(['at', storeA, 'cat', '-source', data, 'latest:/docs']))).toMatch(
      /\/docs in snapshot \w{8} is a directory, not a file$/,
    );
    expect(failsInOneLine(await k(['at', storeA, 'cat', '-source', data, 'latest:/nope']))).toMatch(
      /\/nope not found in snapshot \w{8}$/,
    );
    expect(failsInOneLine(await k(['at', storeA, 'cat', '-source', data, 'latest:/link-to-readme']))).toMatch(
      /is a symlink \(to "docs\/readme.txt"\)/,
    );
  });
});

describe('diff', () => {
  it('lists added, removed and changed entries, human and -json', async () => {
    const [a, b] = [ids[0]!.slice(0, 8), ids[1]!.slice(0, 8)];
    const human = ok(await k(['at', storeA, 'diff', a, b]));
    expect(human.stdout).toContain('~ /docs/readme.txt  (content, mtime)\n');
    expect(human.stdout).toContain('+ /new.txt\n');
    expect(human.stdout).toContain('- /empty.txt\n');
    expect(human.stdout).toMatch(/~ \/run\.sh {2}\(mode(, mtime)?\)\n/);
    expect(human.stderr).toMatch(/^kloset: \d+ differences from \w{8}:\/ to \w{8}:\/\n$/);
    const changes = await json(['at', storeA, 'diff', '-json', a, b]);
    const byPath = new Map(changes.map((c) => [c.path, c]));
    expect(byPath.get('/new.txt')).toMatchObject({ change: 'added', type: 'file', before: null });
    expect(byPath.get('/empty.txt')).toMatchObject({ change: 'removed', type: 'file', after: null });
    expect(byPath.get('/docs/readme.txt')).toMatchObject({ change: 'changed', fields: ['content', 'mtime'] });
    expect((byPath.get('/run.sh')!.after as { mode: number }).mode).toBe(0o700);
    // A path on each side, and a snapshot against itself.
    const docs = await json(['at', storeA, 'diff', '-json', `${a}:/docs`, `${b}:/docs`]);
    expect(docs.map((c) => c.path)).toEqual(['/docs/readme.txt']);
    expect(ok(await k(['at', storeA, 'diff', a, a])).stdout).toBe('');
  });
});

describe('prune, then maintenance', () => {
  it('prune -dry-run decides per source and removes nothing; prune removes', async () => {
    const dry = (await json(['at', storeA, 'prune', '-json', '-keep-last', '1', '-dry-run']))[0]!;
    expect(dry).toMatchObject({ dry_run: true, kept: 2, removed: 1 });
    const groups = dry.groups as {
      source: { root: string };
      keep: { id: string }[];
      remove: { id: string }[];
    }[];
    expect(groups.map((g) => g.source.root).sort()).toEqual([data, other].sort());
    const ofData = groups.find((g) => g.source.root === data)!;
    expect(ofData.keep.map((s) => s.id)).toEqual([ids[1]]);
    expect(ofData.remove.map((s) => s.id)).toEqual([ids[0]]);
    expect(await json(['at', storeA, 'ls', '-json'])).toHaveLength(3);
    const human = ok(await k(['at', storeA, 'prune', '-keep-last', '1', '-dry-run']));
    expect(human.stdout).toMatch(/would remove {2}\w{8} {2}/);
    expect(human.stdout).toMatch(/^dry run: would keep 2 snapshots, would remove 1$/m);
  });

  it('maintenance keeps young packfiles, then deletes what no snapshot uses; the rest stays whole', async () => {
    ok(await k(['at', storeA, 'prune', '-keep-last', '1', '-tag', 'daily', '-group-by', 'none']));
    // Left: the weekly snapshot of data, and the newest daily (of other).
    expect((await json(['at', storeA, 'ls', '-json'])).map((s) => s.id)).toEqual([ids[1], ids[2]]);
    const young = (await json(['at', storeA, 'maintenance', '-json']))[0]!;
    expect(young).toMatchObject({ dry_run: false, deleted: 0, snapshots: 2, grace_seconds: 86_400 });
    expect(young.kept_recent as number).toBeGreaterThan(0);
    const dry = (await json(['at', storeA, 'maintenance', '-json', '-dry-run', '-grace', '0s']))[0]!;
    expect(dry.deleted as number).toBeGreaterThan(0);
    const done = (await json(['at', storeA, 'maintenance', '-json', '-grace', '0s']))[0]!;
    expect(done.deleted).toBe(dry.deleted);
    // The first backup's content is all still used (by the weekly snapshot or by /other's).
    expect(done).toMatchObject({ repacked: 0, repacked_bytes: 0, partial: 0 });
    expect(done.deleted_packfiles).toEqual(dry.deleted_packfiles);
    expect((await json(['at', storeA, 'maintenance', '-json', '-grace', '0s']))[0]).toMatchObject({
      deleted: 0,
    });
    expect((await json(['at', storeA, 'check', '-json']))[0]).toMatchObject({ ok: true, snapshots: 2 });
    const out = join(home.dir, 'restored-after-maintenance');
    ok(await k(['at', storeA, 'restore', '-to', out, ids[1]!]));
    expect(await describeTree(out)).toEqual(await describeTree(data));
  });
});

describe('sync between stores with different passphrases', () => {
  it('copies, skips what is there, works both ways, and says why it cannot', async () => {
    const storeB = join(home.dir, 'store-b');
    ok(await k(['at', storeB, 'create'], { KLOSET_PASSPHRASE: PASS_B }));
    const peerB = { KLOSET_PEER_PASSPHRASE: PASS_B };
    const first = (await json(['at', storeA, 'sync', '-json', '-to', storeB, '-tag', 'weekly'], peerB))[0]!;
    expect(first).toMatchObject({ from: storeA, to: storeB, copied: 1, present: 0 });
    const all = (await json(['at', storeA, 'sync', '-json', 'to', storeB], peerB))[0]!;
    expect(all).toMatchObject({ copied: 1, present: 1 });
    const inB = await json(['at', storeB, 'ls', '-json'], { KLOSET_PASSPHRASE: PASS_B });
    expect(inB.map((s) => s.id)).toEqual([ids[1], ids[2]]);
    const out = join(home.dir, 'restored-from-b');
    ok(await k(['at', storeB, 'restore', '-to', out, ids[1]!], { KLOSET_PASSPHRASE: PASS_B }));
    expect(await describeTree(out)).toEqual(await describeTree(data));
    expect((await json(['at', storeB, 'check', '-json'], { KLOSET_PASSPHRASE: PASS_B }))[0]).toMatchObject({
      ok: true,
    });
    // From B's side, Plakar's "sync from": everything is there already.
    const back = (
      await json(['at', storeB, 'sync', '-json', 'from', storeA], {
        KLOSET_PASSPHRASE: PASS_B,
        KLOSET_PEER_PASSPHRASE: PASS_A,
      })
    )[0]!;
    expect(back).toMatchObject({ copied: 0, present: 2, stored_bytes: 0 });
    expect(ok(await k(['at', storeA, 'sync', '-to', storeB], peerB)).stdout).toMatch(
      /^present \w{8} \(already there\)\n/,
    );
    // The wrong passphrase for B (A's, from KLOSET_PASSPHRASE, both ways; a wrong one of its own),
    // a filter matching nothing, a missing destination.
    const ownGoes = "the other store's own passphrase goes in KLOSET_PEER_PASSPHRASE";
    for (const way of ['-to', '-from']) {
      expect(failsInOneLine(await k(['at', storeA, 'sync', way, storeB]))).toBe(
        `kloset: sync ${way}: wrong passphrase (from KLOSET_PASSPHRASE) for store ${storeB}; ${ownGoes}`,
      );
    }
    expect(
      failsInOneLine(await k(['at', storeA, 'sync', '-from', storeB], { KLOSET_PEER_PASSPHRASE: 'not B' })),
    ).toBe(`kloset: sync -from: wrong passphrase (from KLOSET_PEER_PASSPHRASE) for store ${storeB}`);
    // A's own passphrase wrong: A is named, with no word of the other store.
    expect(
      failsInOneLine(await k(['at', storeA, 'sync', '-to', storeB], { KLOSET_PASSPHRASE: 'not A' })),
    ).toBe(`kloset: wrong passphrase (from KLOSET_PASSPHRASE) for store ${storeA}`);
    expect(failsInOneLine(await k(['at', storeA, 'sync', '-to', storeB, '-tag', 'nope'], peerB))).toBe(
      'kloset: no snapshot matches the filter (-tag nope)',
    );
    expect(failsInOneLine(await k(['at', storeA, 'sync', '-to', join(home.dir, 'missing')], peerB))).toMatch(
      /missing/,
    );
    // rm by filter, in B.
    const removed = await json(['at', storeB, 'rm', '-json', '-tag', 'daily'], { KLOSET_PASSPHRASE: PASS_B });
    expect(removed).toEqual([{ removed: [ids[2]] }]);
  });
});

describe('a corrupt file', () => {
  it('cat prints nothing, one line, exit 4; other files still print', async () => {
    const store = join(home.dir, 'store-corrupt');
    ok(await k(['at', store, 'create']));
    ok(await k(['at', store, 'backup', data]));
    await flipByteOfLargestFile(store);
    const r = await k(['at', store, 'cat', 'latest:/big.bin']);
    expect(r.stdout).toBe('');
    expect(failsInOneLine(r, 4)).toMatch(
      /^kloset: cannot read \/big\.bin in snapshot \w{8}: corrupt blob [0-9a-f]{64} in packfile/,
    );
    expect(ok(await k(['at', store, 'cat', 'latest:/docs/readme.txt'])).stdout).toBe('hello kloset\nmore\n');
  });
});
