/**
 * `restore -overwrite always|if-changed|never` and `-dry-run` into a directory, through the built
 * binary: the directory holds some entries identical to the snapshot's (one of them a file of
 * several chunks), some different (same size with one byte changed, another size) and lacks some
 * (a file, a directory and the file in it). Each mode is run dry first (nothing may change), then
 * for real (the files are checked, and the summary line and -json counts).
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliHome, klosetIn, makeCliHome, ok, removeDir } from './helpers/cli-home.ts';
import { jsonLines } from './helpers/run.ts';
import { describeTree } from './helpers/tree.ts';

const MiB = 1 << 20;
const big = randomBytes(3 * MiB);
const bigChanged = Buffer.from(big);
bigChanged[2 * MiB + 17] = bigChanged[2 * MiB + 17]! ^ 0xff;

/** The backed-up tree: 7 files in 2 directories (the root and sub). */
const SOURCE: Record<string, Buffer> = {
  'same.txt': Buffer.from('identical content\n'),
  'same-size.txt': Buffer.from('AAAAAAAAAAAAAAAA\n'),
  'other-size.txt': Buffer.from('the snapshot has this\n'),
  'absent.txt': Buffer.from('not in the destination yet\n'),
  'big.bin': big,
  'big-changed.bin': big,
  'sub/absent2.txt': Buffer.from('in a directory the destination lacks\n'),
};

/** What the destination holds before each restore. */
const BEFORE: Record<string, Buffer> = {
  'same.txt': SOURCE['same.txt']!,
  'same-size.txt': Buffer.from('BBBBBBBBBBBBBBBB\n'),
  'other-size.txt': Buffer.from('the destination has this longer content\n'),
  'big.bin': big,
  'big-changed.bin': bigChanged,
};
/** An old mtime given to the files already there: a file left alone keeps it. */
const OLD = new Date('2001-02-03T04:05:06Z');

let home: CliHome;
let k: ReturnType<typeof klosetIn>;
let storeDir: string;
let snapshot: string;

async function writeFiles(root: string, files: Record<string, Buffer>, mtime?: Date): Promise<void> {
  for (const [rel, bytes] of Object.entries(files)) {
    const abs = join(root, rel);
    await mkdir(join(abs, '..'), { recursive: true });
    await writeFile(abs, bytes);
    if (mtime !== undefined) await utimes(abs, mtime, mtime);
  }
}

/** A fresh destination directory holding BEFORE. */
async function destination(name: string): Promise<string> {
  const dir = join(home.dir, 'dest', name);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await writeFiles(dir, BEFORE, OLD);
  return dir;
}

/** Everything a restore could change in `dir`: the tree, and the root directory's mtime. */
async function state(dir: string): Promise<unknown> {
  return { tree: await describeTree(dir), rootMtimeMs: (await stat(dir)).mtimeMs };
}

function contentOf(dir: string, rel: string): Promise<Buffer> {
  return readFile(join(dir, rel));
}

interface RestoreJson {
  dry_run: boolean;
  overwrite: string;
  entries: number;
  bytes: number;
  replaced: number | null;
  skipped: number;
  skipped_identical: number;
  skipped_existing: number;
  failed_count: number;
}

function restoreJson(stdout: string): RestoreJson {
  return jsonLines(stdout)[0] as unknown as RestoreJson;
}

const size = (...names: string[]) => names.reduce((n, f) => n + SOURCE[f]!.length, 0);

/** Per mode: the -json counts and content bytes expected of a restore over BEFORE. */
const EXPECTED = {
  always: {
    json: { entries: 9, replaced: null, skipped: 0, skipped_identical: 0, skipped_existing: 0 },
    bytes: size(...Object.keys(SOURCE)),
  },
  'if-changed': {
    json: { entries: 7, replaced: 3, skipped: 2, skipped_identical: 2, skipped_existing: 0 },
    bytes: size('same-size.txt', 'other-size.txt', 'absent.txt', 'big-changed.bin', 'sub/absent2.txt'),
  },
  never: {
    json: { entries: 4, replaced: 0, skipped: 5, skipped_identical: 0, skipped_existing: 5 },
    bytes: size('absent.txt', 'sub/absent2.txt'),
  },
} as const;

beforeAll(async () => {
  home = await makeCliHome('restore-overwrite-dir');
  k = klosetIn(home, { KLOSET_PASSPHRASE: 'overwrite test passphrase' });
  const src = join(home.dir, 'src');
  await writeFiles(src, SOURCE);
  storeDir = join(home.dir, 'store');
  ok(await k(['at', storeDir, 'create']));
  const backup = jsonLines(ok(await k(['at', storeDir, 'backup', '-json', src])).stdout)[0]!;
  snapshot = (backup.snapshot as { id: string }).id;
}, 120_000);

afterAll(async () => {
  await removeDir(home?.dir);
});

describe('restore -overwrite into a directory', { timeout: 120_000 }, () => {
  for (const mode of ['always', 'if-changed', 'never'] as const) {
    it(`-overwrite ${mode}: a dry run changes nothing, then the restore does what the mode says`, async () => {
      const dir = await destination(mode);
      const expected = EXPECTED[mode];
      const before = await state(dir);

      const dry = ok(
        await k(['at', storeDir, 'restore', '-json', '-dry-run', '-overwrite', mode, '-to', dir, snapshot]),
      );
      expect(restoreJson(dry.stdout)).toMatchObject({
        dry_run: true,
        overwrite: mode,
        bytes: expected.bytes,
        failed_count: 0,
        ...expected.json,
      });
      expect(await state(dir), 'the destination after a dry run').toEqual(before);

      const wet = ok(await k(['at', storeDir, 'restore', '-overwrite', mode, '-to', dir, snapshot]));
      const human = wet.stdout.trim();
      expect(human).toMatch(
        mode === 'always'
          ? /^restored 9 entries \([^)]*\) of [0-9a-f]{8}:\/ to \S+$/
          : new RegExp(
              `^restored ${expected.json.entries} entries \\([^,]+, ${expected.json.replaced} replaced\\) of [0-9a-f]{8}:/ to \\S+; ` +
                `skipped ${expected.json.skipped} \\(${expected.json.skipped_identical} identical, ${expected.json.skipped_existing} existing\\)$`,
            ),
      );

      // Absent entries are restored in every mode.
      expect((await contentOf(dir, 'absent.txt')).equals(SOURCE['absent.txt']!)).toBe(true);
      expect((await contentOf(dir, 'sub/absent2.txt')).equals(SOURCE['sub/absent2.txt']!)).toBe(true);
      const replaced = mode !== 'never';
      for (const rel of ['same-size.txt', 'other-size.txt', 'big-changed.bin']) {
        const want = replaced ? SOURCE[rel]! : BEFORE[rel]!;
        expect((await contentOf(dir, rel)).equals(want), `${rel} after -overwrite ${mode}`).toBe(true);
      }
      // Identical files: rewritten (the snapshot's mtime) only with always; left alone otherwise.
      for (const rel of ['same.txt', 'big.bin']) {
        expect((await contentOf(dir, rel)).equals(SOURCE[rel]!)).toBe(true);
        const mtime = (await lstat(join(dir, rel))).mtimeMs;
        if (mode === 'always') expect(mtime, `${rel} rewritten`).not.toBe(OLD.getTime());
        else expect(mtime, `${rel} left alone`).toBe(OLD.getTime());
      }
      // Never: a file left alone keeps its old mtime too.
      if (mode === 'never') expect((await lstat(join(dir, 'same-size.txt'))).mtimeMs).toBe(OLD.getTime());

      // Once restored, the same restore with if-changed has nothing left to write but directories.
      const again = restoreJson(
        ok(await k(['at', storeDir, 'restore', '-json', '-overwrite', 'if-changed', '-to', dir, snapshot]))
          .stdout,
      );
      // After never, the 3 files that differ are still to write; the 4 others are identical.
      if (mode === 'never')
        expect(again).toMatchObject({ entries: 5, replaced: 3, skipped: 4, skipped_identical: 4 });
      else
        expect(again).toMatchObject({ entries: 2, bytes: 0, replaced: 0, skipped: 7, skipped_identical: 7 });
    });
  }

  it('-dry-run into a directory that does not exist creates nothing', async () => {
    const dir = join(home.dir, 'dest', 'not-there');
    const r = ok(
      await k(['at', storeDir, 'restore', '-dry-run', '-overwrite', 'if-changed', '-to', dir, snapshot]),
    );
    expect(r.stdout.trim()).toMatch(
      new RegExp(
        `^dry run: would restore 9 entries \\([^,]+, 0 replaced\\) of [0-9a-f]{8}:/ to \\S+not-there; ` +
          'would skip 0 \\(0 identical, 0 existing\\); nothing was written$',
      ),
    );
    await expect(lstat(dir)).rejects.toThrow(/ENOENT/);
  });

  it('-overwrite with another value is a usage error', async () => {
    const dir = join(home.dir, 'dest', 'usage');
    const r = await k(['at', storeDir, 'restore', '-overwrite', 'if-newer', '-to', dir, snapshot]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'kloset: restore: -overwrite takes always, if-changed or never, not "if-newer" (see "kloset restore -h")\n',
    );
    await expect(lstat(dir)).rejects.toThrow(/ENOENT/);
  });
});
