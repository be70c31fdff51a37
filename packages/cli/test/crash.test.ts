/** `kill -9` during a backup leaves a store that checks clean and takes the next backup. */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { testDir } from './helpers/cli-home.ts';
import { jsonLines } from './helpers/run.ts';
import { spawnCli } from './helpers/spawn.ts';
import { makeBigTree, makeSampleTree } from './helpers/tree.ts';

async function countFiles(dir: string): Promise<number> {
  let n = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) n++;
  return n;
}

it('kill -9 during a backup, then check and a new backup succeed', { timeout: 300_000 }, async () => {
  const home = await testDir('crash');
  const env = {
    HOME: home,
    XDG_CACHE_HOME: join(home, 'cache'),
    XDG_CONFIG_HOME: join(home, 'config'),
    KLOSET_PASSPHRASE: 'pass',
  };
  const k = (argv: string[]) => spawnCli(argv, { bin: true, env, timeoutMs: 200_000 });
  const store = join(home, 'store');
  const small = join(home, 'small');
  const big = join(home, 'big');
  await makeSampleTree(small, 1 << 20);
  await makeBigTree(big, 160, 1 << 20);
  expect((await k(['at', store, 'create'])).code).toBe(0);
  expect((await k(['at', store, 'backup', small])).code).toBe(0);
  const filesBefore = await countFiles(store);

  // Start the big backup and kill it once it has written packfiles to the store.
  let pid = 0;
  const running = spawnCli(['at', store, 'backup', big], {
    bin: true,
    env,
    timeoutMs: 200_000,
    onSpawn: (p) => {
      pid = p;
    },
  });
  const deadline = Date.now() + 120_000;
  while ((await countFiles(store)) <= filesBefore + 1 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  process.kill(pid, 'SIGKILL');
  const killed = await running;
  expect(killed.signal).toBe('SIGKILL');

  const check = await k(['at', store, 'check']);
  // Packfiles of the killed backup that no state lists are a note (maintenance removes them), not a problem.
  expect(check.stderr).toMatch(
    /^(kloset: [\d,]+ packfiles in the store are indexed by no state \(left by interrupted backups[^\n]*\n)?$/,
  );
  expect(check.code).toBe(0);
  const again = await k(['at', store, 'backup', '-json', big]);
  expect(again.code).toBe(0);
  expect(jsonLines(again.stdout)[0]!.snapshot).toMatchObject({ summary: { files: 160 } });
  expect((await k(['at', store, 'check'])).code).toBe(0);
  const list = jsonLines((await k(['at', store, 'ls', '-json'])).stdout);
  expect(list).toHaveLength(2);
});
