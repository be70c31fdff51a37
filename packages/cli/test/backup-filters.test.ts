/**
 * `backup -exclude/-include` (and their -file forms) and `backup -dry-run` of a local directory,
 * through the built binary: the snapshot's entries (ls -json), bad patterns and pattern files
 * (exit 2, one line), a dry run that leaves the store byte for byte as it was and reports the
 * counts, and a filtered re-backup that reuses the previous snapshot's files.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliHome, failsInOneLine, klosetIn, makeCliHome, ok, removeDir } from './helpers/cli-home.ts';
import { jsonLines } from './helpers/run.ts';
import { describeTree } from './helpers/tree.ts';

let home: CliHome;
let k: ReturnType<typeof klosetIn>;
let data: string;
let storeDir: string;
let store: string;

/** File path -> size: random content (no compression), 4 KiB and up. */
const FILES: Record<string, number> = {
  'a.txt': 4096,
  'b.log': 5000,
  'keep/c.txt': 6000,
  'keep/d.log': 7000,
  'node_modules/pkg/index.js': 8000,
  'src/main.ts': 9000,
  'src/cache/x.bin': 10_000,
  'deep/x/y/z.txt': 11_000,
  'deep/x/y/z.log': 12_000,
  'with space, comma.txt': 4100,
};
const ALL_DIRS = [
  '/',
  '/keep',
  '/node_modules',
  '/node_modules/pkg',
  '/src',
  '/src/cache',
  '/deep',
  '/deep/x',
  '/deep/x/y',
];

/** The paths of the latest snapshot of `storePath` (the root's entries and all under them), sorted. */
async function snapshotPaths(storePath = store): Promise<string[]> {
  const r = ok(await k(['at', storePath, 'ls', '-json', '-recursive', 'latest']));
  return jsonLines(r.stdout)
    .map((e) => e.path as string)
    .sort();
}

interface Summary {
  files: number;
  directories: number;
  symlinks: number;
  errors: number;
  bytes: number;
  stored_bytes: number;
}

/** The backup's JSON line. */
async function backedUp(...flags: string[]): Promise<{ summary: Summary }> {
  const r = ok(await k(['at', store, 'backup', '-json', ...flags, data]));
  return jsonLines(r.stdout)[0]!.snapshot as { summary: Summary };
}

const sorted = (paths: readonly string[]) => [...paths].sort();

beforeAll(async () => {
  home = await makeCliHome('filters');
  k = klosetIn(home, { KLOSET_PASSPHRASE: 'filters passphrase' });
  data = join(home.dir, 'data');
  for (const [path, size] of Object.entries(FILES)) {
    await mkdir(join(data, path, '..'), { recursive: true });
    await writeFile(join(data, path), randomBytes(size));
  }
  await symlink('a.txt', join(data, 'link'));
  storeDir = join(home.dir, 'store');
  store = storeDir;
  ok(await k(['at', store, 'create']));
});
afterAll(() => removeDir(home?.dir));

describe('backup -exclude / -include of a directory', () => {
  it('leaves out what the excludes match, an excluded directory with all under it', async () => {
    const snap = await backedUp('-exclude', '*.log', '-exclude', 'node_modules/', '-exclude', '/src/cache');
    expect(await snapshotPaths()).toEqual(
      sorted([
        '/a.txt',
        '/keep',
        '/keep/c.txt',
        '/src',
        '/src/main.ts',
        '/deep',
        '/deep/x',
        '/deep/x/y',
        '/deep/x/y/z.txt',
        '/with space, comma.txt',
        '/link',
      ]),
    );
    expect(snap.summary).toMatchObject({ files: 5, directories: 6, symlinks: 1, errors: 0 });
    expect(snap.summary.bytes).toBe(4096 + 6000 + 9000 + 11_000 + 4100);
  });

  it('keeps only the included files (or under an included directory), every directory, excludes winning', async () => {
    await backedUp('-include', '*.txt', '-include', '/src', '-exclude', 'keep', '-exclude', 'main.ts');
    expect(await snapshotPaths()).toEqual(
      sorted([
        '/a.txt',
        '/with space, comma.txt',
        '/node_modules',
        '/node_modules/pkg',
        '/src',
        '/src/cache',
        '/src/cache/x.bin',
        '/deep',
        '/deep/x',
        '/deep/x/y',
        '/deep/x/y/z.txt',
      ]),
    );
  });

  it('takes a pattern with a comma or a space as it is given', async () => {
    await backedUp(
      '-exclude',
      'with space, comma.txt',
      '-exclude',
      '/deep',
      '-exclude',
      '/src',
      '-exclude',
      '/keep',
    );
    expect(await snapshotPaths()).toEqual(
      sorted([
        '/a.txt',
        '/b.log',
        '/link',
        '/node_modules',
        '/node_modules/pkg',
        '/node_modules/pkg/index.js',
      ]),
    );
  });

  it('reads -exclude-file and -include-file: one pattern a line, # comments and blank lines ignored', async () => {
    const excludes = join(home.work, 'excludes.txt');
    await writeFile(excludes, '# build output\n\nnode_modules/\r\n  *.log  \n**/y\n');
    const includes = join(home.work, 'includes.txt');
    await writeFile(includes, '# what to keep\n/keep/**\n/src/*.ts\n');
    await backedUp('-exclude-file', excludes, '-include-file', 'includes.txt');
    expect(await snapshotPaths()).toEqual(
      sorted(['/keep', '/keep/c.txt', '/src', '/src/main.ts', '/src/cache', '/deep', '/deep/x']),
    );
  });

  it('refuses a bad pattern with exit 2 and one line naming it, before writing anything', async () => {
    const before = await describeTree(storeDir);
    expect(
      failsInOneLine(await k(['at', store, 'backup', '-exclude', '*.log', '-exclude', 'a[b', data]), 2),
    ).toBe('kloset: -exclude: bad pattern "a[b": unterminated [ (see "kloset backup -h")');
    expect(failsInOneLine(await k(['at', store, 'backup', '-include', '/', data]), 2)).toMatch(
      /^kloset: -include: bad pattern "\/": it matches the whole source/,
    );
    const bad = join(home.work, 'bad.txt');
    await writeFile(bad, '# fine\n*.tmp\n\n[z-a]\n');
    expect(failsInOneLine(await k(['at', store, 'backup', '-exclude-file', bad, data]), 2)).toMatch(
      new RegExp(`^kloset: -exclude-file ${bad} line 4: bad pattern "\\[z-a\\]": `),
    );
    expect(failsInOneLine(await k(['at', store, 'backup', '-include-file', 'missing.txt', data]), 2)).toBe(
      'kloset: -include-file missing.txt: cannot read the pattern file (ENOENT) (see "kloset backup -h")',
    );
    expect(await describeTree(storeDir)).toEqual(before);
  });
});

describe('backup -dry-run', () => {
  it('reports what a backup would hold, writes nothing to the store', async () => {
    const dryStore = join(home.dir, 'dry-store');
    ok(await k(['at', dryStore, 'create']));
    const before = await describeTree(dryStore);
    const r = ok(await k(['at', dryStore, 'backup', '-json', '-dry-run', '-exclude', '*.log', data]));
    expect(jsonLines(r.stdout)).toEqual([
      {
        dry_run: true,
        entries: 7 + ALL_DIRS.length + 1,
        files: 7,
        directories: ALL_DIRS.length,
        symlinks: 1,
        errors: 0,
        bytes: Object.entries(FILES)
          .filter(([p]) => !p.endsWith('.log'))
          .reduce((n, [, size]) => n + size, 0),
        unchanged_files: 0,
        unchanged_bytes: 0,
        parent: null,
      },
    ]);
    // With -verbose, one line per entry before the counts.
    const verbose = ok(
      await k(['at', dryStore, 'backup', '-json', '-verbose', '-dry-run', '-include', '/keep', data]),
    );
    const lines = jsonLines(verbose.stdout);
    expect(lines.at(-1)).toMatchObject({ dry_run: true, files: 2, entries: 2 + ALL_DIRS.length });
    expect(lines.slice(0, -1).find((l) => l.path === '/keep/c.txt')).toEqual({
      path: '/keep/c.txt',
      type: 'file',
      size: 6000,
      unchanged: false,
    });
    expect(
      lines
        .slice(0, -1)
        .map((l) => l.path as string)
        .sort(),
    ).toEqual(sorted([...ALL_DIRS, '/keep/c.txt', '/keep/d.log']));
    const human = ok(await k(['at', dryStore, 'backup', '-dry-run', data])).stdout;
    expect(human).toBe(
      `dry run of ${data}: would back up 10 files, 9 directories, 1 symlinks, 74.4 KiB\n` +
        'no previous snapshot of this source: every file would be read; nothing was written to the store\n',
    );
    const missing = join(home.dir, 'missing');
    expect(failsInOneLine(await k(['at', dryStore, 'backup', '-dry-run', missing]))).toBe(
      `kloset: backup -dry-run of ${missing}: source directory ${missing} does not exist`,
    );
    expect(await describeTree(dryStore)).toEqual(before);
    expect(jsonLines(ok(await k(['at', dryStore, 'ls', '-json'])).stdout)).toEqual([]);
  });

  it('counts the files a backup would reuse; an unchanged filtered re-backup reuses them', async () => {
    const first = await backedUp('-exclude', '/deep', '-exclude', '*.bin');
    const before = await describeTree(storeDir);
    const dry = ok(
      await k(['at', store, 'backup', '-json', '-dry-run', '-exclude', '/deep', '-exclude', '*.bin', data]),
    );
    const counts = jsonLines(dry.stdout)[0]!;
    expect(counts).toMatchObject({ files: first.summary.files, unchanged_files: first.summary.files });
    expect(counts.unchanged_bytes).toBe(first.summary.bytes);
    expect(counts.parent).toMatch(/^[0-9a-f]{64}$/);
    expect(await describeTree(storeDir)).toEqual(before);
    // A changed file is not unchanged any more.
    await writeFile(join(data, 'a.txt'), randomBytes(4097));
    const changed = jsonLines(
      ok(
        await k(['at', store, 'backup', '-json', '-dry-run', '-exclude', '/deep', '-exclude', '*.bin', data]),
      ).stdout,
    )[0]!;
    expect(changed.unchanged_files).toBe(first.summary.files - 1);
    // The re-backup reads only that file: what it adds is far less than the files' content.
    const again = await backedUp('-exclude', '/deep', '-exclude', '*.bin');
    expect(again.summary.files).toBe(first.summary.files);
    expect(again.summary.stored_bytes).toBeLessThan(again.summary.bytes / 4);
    const after = jsonLines(
      ok(
        await k(['at', store, 'backup', '-json', '-dry-run', '-exclude', '/deep', '-exclude', '*.bin', data]),
      ).stdout,
    )[0]!;
    expect(after.unchanged_files).toBe(first.summary.files);
    // In human text: each path with -verbose, the unchanged ones marked, then the counts.
    const human = ok(
      await k(['at', store, 'backup', '-dry-run', '-verbose', '-include', '/keep', data]),
    ).stdout;
    const lines = human.trimEnd().split('\n');
    expect(lines.filter((l) => l.startsWith('/keep/')).sort()).toEqual([
      '/keep/c.txt  (unchanged)',
      '/keep/d.log  (unchanged)',
    ]);
    expect(lines.slice(-2)).toEqual([
      `dry run of ${data}: would back up 2 files, 9 directories, 0 symlinks, 12.7 KiB`,
      expect.stringMatching(
        /^2 files \(12\.7 KiB\) unchanged since snapshot [0-9a-f]{8} would not be read again; nothing was written to the store$/,
      ),
    ]);
  });
});
