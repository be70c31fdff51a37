/**
 * `find` through the built binary on a store of three snapshots of one tree, with files added and
 * removed between them: which snapshots and paths match, in the human output (grouped per
 * snapshot) and in -json (one line per match), with the snapshot filters and SNAPSHOT arguments.
 */
import { chmod, mkdir, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliHome, failsInOneLine, klosetIn, makeCliHome, ok, removeDir } from './helpers/cli-home.ts';
import { jsonLines } from './helpers/run.ts';

const MTIME = 1_700_000_000; // 2023-11-14 22:13:20 UTC
const ISO = '2023-11-14T22:13:20.000Z';

let home: CliHome;
let k: ReturnType<typeof klosetIn>;
let store: string;
let tree: string;
/** Full ids of the three snapshots, oldest first; their short ids and times as shown. */
const ids: string[] = [];
const times: string[] = [];

async function put(path: string, content: string): Promise<void> {
  const abs = join(tree, path);
  await mkdir(join(abs, '..'), { recursive: true });
  await writeFile(abs, content);
  await chmod(abs, 0o644);
  await utimes(abs, MTIME, MTIME);
}

async function backup(...flags: string[]): Promise<void> {
  const r = ok(await k(['at', store, 'backup', '-json', ...flags, tree]));
  const snap = jsonLines(r.stdout)[0]!.snapshot as { id: string; time: string };
  ids.push(snap.id);
  const d = new Date(snap.time);
  const p = (x: number) => String(x).padStart(2, '0');
  times.push(
    `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`,
  );
}

const match = (snap: number, path: string, size: number) => ({
  snapshot: ids[snap],
  path,
  type: 'file',
  size,
  mtime: ISO,
});

beforeAll(async () => {
  home = await makeCliHome('find');
  k = klosetIn(home, { KLOSET_PASSPHRASE: 'find things', TZ: 'UTC' });
  store = join(home.dir, 'store');
  tree = join(home.dir, 'tree');
  ok(await k(['at', store, 'create']));
  await put('a.txt', 'a\n');
  await put('docs/readme.md', 'readme\n');
  await put('docs/old.log', 'old log\n');
  await backup('-tag', 'first');
  // Second: docs/new.txt added, docs/old.log removed.
  await put('docs/new.txt', 'new text\n');
  await rm(join(tree, 'docs', 'old.log'));
  await backup();
  // Third: a.txt removed, x/a.txt added.
  await rm(join(tree, 'a.txt'));
  await put('x/a.txt', 'another a\n');
  await backup('-tag', 'third');
}, 120_000);

afterAll(() => removeDir(home?.dir));

const find = async (...argv: string[]) =>
  jsonLines(ok(await k(['at', store, 'find', '-json', ...argv])).stdout);

describe('find', () => {
  it('a base-name pattern: every snapshot holding one, at any depth', async () => {
    expect(await find('a.txt')).toEqual([
      match(0, '/a.txt', 2),
      match(1, '/a.txt', 2),
      match(2, '/x/a.txt', 10),
    ]);
    expect(await find('*.txt')).toEqual([
      match(0, '/a.txt', 2),
      match(1, '/a.txt', 2),
      match(1, '/docs/new.txt', 9),
      match(2, '/docs/new.txt', 9),
      match(2, '/x/a.txt', 10),
    ]);
  });

  it('a whole-path pattern, ** and sets', async () => {
    expect(await find('/docs/*.log')).toEqual([match(0, '/docs/old.log', 8)]);
    expect(await find('docs/[no]*')).toEqual([
      match(0, '/docs/old.log', 8),
      match(1, '/docs/new.txt', 9),
      match(2, '/docs/new.txt', 9),
    ]);
    expect(await find('/**/a.txt')).toEqual([
      match(0, '/a.txt', 2),
      match(1, '/a.txt', 2),
      match(2, '/x/a.txt', 10),
    ]);
    const dirs = await find('/x');
    expect(dirs.map((d) => [d.snapshot, d.path, d.type])).toEqual([[ids[2], '/x', 'directory']]);
  });

  it('SNAPSHOT arguments and the filter flags narrow the snapshots searched', async () => {
    expect(await find('a.txt', ids[1]!.slice(0, 10))).toEqual([match(1, '/a.txt', 2)]);
    expect(await find('a.txt', 'latest')).toEqual([match(2, '/x/a.txt', 10)]);
    expect(await find('-tag', 'first', '*.log')).toEqual([match(0, '/docs/old.log', 8)]);
    expect(await find('-tag', 'third', '*.log')).toEqual([]);
  });

  it('human output: per snapshot its id, time and name, then each match; then the totals', async () => {
    const r = ok(await k(['at', store, 'find', 'a.txt']));
    const line = (path: string, size: string) =>
      `  -rw-r--r--  ${size.padStart(10)}  2023-11-14 22:13:20  ${path}`;
    expect(r.stdout).toBe(
      [
        `snapshot ${ids[0]!.slice(0, 8)}  ${times[0]}  ${tree}`,
        line('/a.txt', '2 B'),
        '',
        `snapshot ${ids[1]!.slice(0, 8)}  ${times[1]}  ${tree}`,
        line('/a.txt', '2 B'),
        '',
        `snapshot ${ids[2]!.slice(0, 8)}  ${times[2]}  ${tree}`,
        line('/x/a.txt', '10 B'),
        '',
        '3 matches in 3 of 3 snapshots',
        '',
      ].join('\n'),
    );
    expect(r.stderr).toBe('');
  });

  it('nothing matching: a note on stderr, exit 0; bad arguments: one line, exit 2', async () => {
    const none = ok(await k(['at', store, 'find', 'nothing-*']));
    expect(none.stdout).toBe('');
    expect(none.stderr).toBe('kloset: no path matches "nothing-*" in 3 snapshots\n');
    expect(failsInOneLine(await k(['at', store, 'find']), 2)).toMatch(/PATTERN/);
    expect(failsInOneLine(await k(['at', store, 'find', '*', 'not-hex']), 2)).toMatch(/not a snapshot id/);
  });

  it('a header that cannot be read: named on stderr, exit 4, the readable snapshots still searched', async () => {
    const bad = 'cd'.repeat(32);
    await writeFile(join(store, 'snapshots', bad), 'not a sealed header');
    const r = await k(['at', store, 'find', '-json', '/docs/*.log']);
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toMatch(
      new RegExp(`^kloset: snapshot ${bad}: cannot be read: .*\\(run 'kloset check'\\)\n$`),
    );
    expect(jsonLines(r.stdout)).toEqual([match(0, '/docs/old.log', 8)]);
  });
});
