/**
 * `stats` through the built binary on a small known data set: two snapshots of one tree that
 * share three files (the second adds one), so every file count and logical size is known, and the
 * store's packfiles, states and snapshot headers are counted and summed from the store directory
 * itself. The deduplication ratio is then logical / packfile bytes, above 1.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliHome, failsInOneLine, klosetIn, makeCliHome, ok, removeDir } from './helpers/cli-home.ts';
import { jsonLines } from './helpers/run.ts';

let home: CliHome;
let k: ReturnType<typeof klosetIn>;
let store: string;
const ids: string[] = [];

/** Files and total bytes of the regular files under `dir` (recursively). */
async function filesUnder(dir: string): Promise<{ count: number; bytes: number }> {
  let count = 0;
  let bytes = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile() || e.name.endsWith('.tmp')) continue;
    count++;
    bytes += (await stat(join(e.parentPath, e.name))).size;
  }
  return { count, bytes };
}

interface StatsJson {
  snapshots: {
    id: string;
    files: number;
    directories: number;
    symlinks: number;
    bytes: number;
    stored_bytes: number;
  }[];
  store: Record<string, number | null>;
}

beforeAll(async () => {
  home = await makeCliHome('stats');
  k = klosetIn(home, { KLOSET_PASSPHRASE: 'count things', TZ: 'UTC' });
  store = join(home.dir, 'store');
  const tree = join(home.dir, 'tree');
  await mkdir(join(tree, 'docs'), { recursive: true });
  await writeFile(join(tree, 'a.bin'), randomBytes(100_000));
  await writeFile(join(tree, 'b.bin'), randomBytes(50_000));
  await writeFile(join(tree, 'docs', 'c.txt'), 'hello\n');
  ok(await k(['at', store, 'create']));
  for (const round of [1, 2]) {
    if (round === 2) await writeFile(join(tree, 'docs', 'd.txt'), 'new\n');
    const r = ok(await k(['at', store, 'backup', '-json', tree]));
    ids.push((jsonLines(r.stdout)[0]!.snapshot as { id: string }).id);
  }
}, 120_000);

afterAll(() => removeDir(home?.dir));

describe('stats', () => {
  it('-json: exact counts and sizes per snapshot and for the store; dedup ratio above 1', async () => {
    const out = jsonLines(ok(await k(['at', store, 'stats', '-json'])).stdout) as unknown as StatsJson[];
    expect(out).toHaveLength(1);
    const { snapshots, store: totals } = out[0]!;
    expect(
      snapshots.map(({ id, files, directories, symlinks, bytes }) => ({
        id,
        files,
        directories,
        symlinks,
        bytes,
      })),
    ).toEqual([
      { id: ids[0], files: 3, directories: 2, symlinks: 0, bytes: 150_006 },
      { id: ids[1], files: 4, directories: 2, symlinks: 0, bytes: 150_010 },
    ]);
    // The first backup stored the random content (it does not compress); the second only d.txt and trees.
    expect(snapshots[0]!.stored_bytes).toBeGreaterThan(150_006);
    expect(snapshots[1]!.stored_bytes).toBeGreaterThan(4);
    expect(snapshots[1]!.stored_bytes).toBeLessThan(5_000);

    const packs = await filesUnder(join(store, 'packfiles'));
    const states = await filesUnder(join(store, 'states'));
    const headers = await filesUnder(join(store, 'snapshots'));
    expect(headers.count).toBe(2);
    expect(packs.bytes).toBeGreaterThanOrEqual(snapshots[0]!.stored_bytes + snapshots[1]!.stored_bytes);
    const checked = jsonLines(ok(await k(['at', store, 'check', '-json'])).stdout)[0] as { blobs: number };
    expect(totals).toEqual({
      snapshots: 2,
      bytes: 300_016,
      packfiles: packs.count,
      packfile_bytes: packs.bytes,
      states: states.count,
      state_bytes: states.bytes,
      snapshot_headers: 2,
      snapshot_header_bytes: headers.bytes,
      stored_bytes: packs.bytes + states.bytes + headers.bytes,
      blobs: checked.blobs,
      dedup_ratio: 300_016 / packs.bytes,
    });
    expect(totals.dedup_ratio).toBeGreaterThan(1.9);
  });

  it('human output: a row per snapshot, then the store', async () => {
    const json = (jsonLines(ok(await k(['at', store, 'stats', '-json'])).stdout)[0] as unknown as StatsJson)
      .store;
    const r = ok(await k(['at', store, 'stats']));
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('snapshot  time                 files  directories  logical    added');
    expect(lines[1]).toMatch(
      new RegExp(
        `^${ids[0]!.slice(0, 8)}  \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d      3            2  146 KiB  14\\d KiB$`,
      ),
    );
    expect(lines[2]).toMatch(new RegExp(`^${ids[1]!.slice(0, 8)}  .*      4            2  146 KiB +\\d+ B$`));
    expect(lines.slice(3)).toEqual([
      '',
      'store:',
      '  snapshots:   2',
      '  logical:     293 KiB (300,016 bytes in the files of every snapshot)',
      expect.stringMatching(new RegExp(`^  packfiles:   ${json.packfiles} \\(\\d+(\\.\\d+)? KiB\\)$`)),
      `  blobs:       ${json.blobs} (in the index)`,
      expect.stringMatching(
        new RegExp(
          `^  stored: {6}\\S+ KiB \\(${(json.stored_bytes as number).toLocaleString('en-US')} bytes: packfiles, states, snapshot headers\\)$`,
        ),
      ),
      `  dedup ratio: ${(json.dedup_ratio as number).toFixed(2)} (logical / packfile bytes)`,
      '',
    ]);
  });

  it('SNAPSHOT arguments choose the rows; the store totals stay whole', async () => {
    const out = jsonLines(
      ok(await k(['at', store, 'stats', '-json', ids[1]!.slice(0, 8)])).stdout,
    )[0] as unknown as StatsJson;
    expect(out.snapshots.map((s) => s.id)).toEqual([ids[1]]);
    expect(out.store.snapshots).toBe(2);
    expect(out.store.bytes).toBe(300_016);
    expect(failsInOneLine(await k(['at', store, 'stats', 'zz']), 2)).toMatch(/not a snapshot id/);
  });

  it('a header that cannot be read: named on stderr, exit 4, the readable snapshots still counted', async () => {
    const bad = 'ab'.repeat(32);
    await writeFile(join(store, 'snapshots', bad), 'not a sealed header');
    const r = await k(['at', store, 'stats', '-json']);
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toMatch(
      new RegExp(`^kloset: snapshot ${bad}: cannot be read: .*\\(run 'kloset check'\\)\n$`),
    );
    const out = jsonLines(r.stdout)[0] as unknown as StatsJson;
    expect(out.snapshots.map((s) => s.id)).toEqual(ids);
    expect(out.store.snapshots).toBe(2);
    expect(out.store.snapshot_headers).toBe(3);
  });
});
