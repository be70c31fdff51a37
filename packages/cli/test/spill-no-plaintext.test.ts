/**
 * Nothing in plaintext outside the store: a backup whose entries spill out of the sort memory
 * (KLOSET_SORT_MEMORY forces it with a few thousand entries) leaves no file name in $TMPDIR,
 * during or after the run, and the spill directory of a backup killed with -9 is removed by the
 * next one.
 */
import type { Dirent } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { removeDir } from './helpers/cli-home.ts';
import { spawnCli } from './helpers/spawn.ts';

const MARKER = 'ZQX-plain-name-QXZ';
const ENTRIES = 30_000;

/** Every file under `root` (recursively); fails the test if one holds the marker. */
async function scan(root: string): Promise<{ files: number; spillRuns: number }> {
  let files = 0;
  let spillRuns = 0;
  let entries: Dirent[];
  try {
    entries = await readdir(root, { withFileTypes: true, recursive: true });
  } catch {
    return { files, spillRuns };
  }
  for (const e of entries) {
    expect(e.name, 'a name in TMPDIR').not.toContain(MARKER);
    if (!e.isFile()) continue;
    let bytes: Buffer;
    try {
      bytes = await readFile(join(e.parentPath, e.name));
    } catch {
      continue; // removed meanwhile (a merged run)
    }
    files++;
    if (/kloset-sort-\d+-\d+-/.test(e.parentPath) && bytes.length > 0) spillRuns++;
    expect(bytes.includes(MARKER), join(e.parentPath, e.name)).toBe(false);
  }
  return { files, spillRuns };
}

it('a spilling backup writes no file name to $TMPDIR, and a killed one is swept by the next', {
  timeout: 300_000,
}, async () => {
  const home = await mkdtemp(join(tmpdir(), 'kloset-spill-'));
  try {
    const tmp = join(home, 'tmp');
    const src = join(home, 'src');
    await mkdir(tmp);
    for (let d = 0; d < 30; d++) await mkdir(join(src, `${MARKER}-dir-${d}`), { recursive: true });
    for (let i = 0; i < ENTRIES; i++)
      await writeFile(join(src, `${MARKER}-dir-${i % 30}`, `${MARKER}-${i}`), '');
    await symlink(`../${MARKER}-target`, join(src, `${MARKER}-dir-0`, 'link'));
    const env = {
      HOME: home,
      XDG_CACHE_HOME: join(home, 'cache'),
      XDG_CONFIG_HOME: join(home, 'config'),
      KLOSET_PASSPHRASE: 'pass',
      TMPDIR: tmp,
      KLOSET_SORT_MEMORY: String(256 * 1024),
    };
    const store = join(home, 'store');
    expect((await spawnCli(['at', store, 'create'], { bin: true, env })).code).toBe(0);

    /** Runs a backup, scanning TMPDIR until it ends; `onSpill` sees each spill directory. */
    const backupWatched = async (onSpill?: (dir: string) => void) => {
      const running = spawnCli(['at', store, 'backup', src], { bin: true, env, timeoutMs: 200_000 });
      let done = false;
      void running.then(() => {
        done = true;
      });
      let spillRuns = 0;
      while (!done) {
        spillRuns += (await scan(tmp)).spillRuns;
        for (const name of await readdir(tmp)) if (name.startsWith('kloset-sort-')) onSpill?.(name);
        await new Promise((r) => setTimeout(r, 20));
      }
      return { result: await running, spillRuns };
    };

    const first = await backupWatched();
    expect(first.result.stderr).toBe('');
    expect(first.result.code).toBe(0);
    expect(first.result.stdout).toContain('30,000 files');
    expect(first.spillRuns, 'spill files seen during the backup').toBeGreaterThan(0);
    await scan(tmp);
    expect(await readdir(tmp)).toEqual([]);

    // kill -9 the process that spills (its pid is in the spill directory's name), as soon as it has spilled.
    let killed: string | undefined;
    const second = await backupWatched((name) => {
      if (killed !== undefined) return;
      killed = name;
      process.kill(Number(/^kloset-sort-(\d+)-/.exec(name)![1]), 'SIGKILL');
    });
    expect(killed).toBeDefined();
    expect(second.result.code).not.toBe(0);
    await scan(tmp);
    expect(await readdir(tmp)).toContain(killed);

    const third = await backupWatched();
    expect(third.result.code).toBe(0);
    await scan(tmp);
    expect(await readdir(tmp)).toEqual([]);
  } finally {
    await removeDir(home);
  }
});
