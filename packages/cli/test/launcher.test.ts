/**
 * bin/kloset.js runs the data commands again with glibc's allocator tuned, in the same process
 * (process.execve): the process gets GLIBC_TUNABLES and the V8 flags, keeps its pid (a SIGTERM or
 * SIGKILL sent to it reaches the backup itself), and no launcher process is left behind.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { testDir } from './helpers/cli-home.ts';
import { spawnCli } from './helpers/spawn.ts';
import { makeBigTree } from './helpers/tree.ts';

/** The pids of the children of `pid` (empty once it has none). */
async function childrenOf(pid: number): Promise<number[]> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  return text.trim() === '' ? [] : text.trim().split(/\s+/).map(Number);
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function alive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat !== undefined && !/^\d+ \(.*\) Z/.test(stat);
}

/** A fresh HOME (config and cache in it; removed after the test) and the environment that points there. */
async function tempHome(): Promise<{ home: string; env: Record<string, string> }> {
  const home = await testDir('launcher');
  const env = { HOME: home, XDG_CACHE_HOME: join(home, 'cache'), XDG_CONFIG_HOME: join(home, 'config') };
  return { home, env: { ...env, KLOSET_PASSPHRASE: 'pass' } };
}

async function setup(): Promise<{ env: Record<string, string>; store: string; data: string }> {
  const { home, env } = await tempHome();
  const store = join(home, 'store');
  const data = join(home, 'data');
  await makeBigTree(data, 400, 1 << 20);
  const created = await spawnCli(['at', store, 'create'], { bin: true, env, timeoutMs: 60_000 });
  expect(created.code).toBe(0);
  return { env, store, data };
}

/** Starts a backup through the launcher; resolves with its pid, its environment once re-executed, and the run. */
async function startBackup(s: Awaited<ReturnType<typeof setup>>) {
  let pid = 0;
  const run = spawnCli(['at', s.store, 'backup', s.data], {
    bin: true,
    env: { ...s.env, GLIBC_TUNABLES: undefined },
    timeoutMs: 120_000,
    onSpawn: (p) => {
      pid = p;
    },
  });
  // Read once the process has exec'ed node again (before, it shows the first environment).
  const environ = await waitFor('the re-executed process', async () => {
    if (pid === 0) return undefined;
    const vars = (await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '')).split('\0');
    return vars.some((v) => v.startsWith('GLIBC_TUNABLES=')) ? vars : undefined;
  });
  return { pid, environ, run };
}

it('runs a backup re-executed with the tuned allocator, in the same process, which a SIGTERM stops', {
  timeout: 180_000,
}, async () => {
  if (process.platform !== 'linux') throw new Error('this test reads /proc: it needs Linux');
  const s = await setup();
  const { pid, environ, run } = await startBackup(s);
  // glibc rewrites the variable in the process's memory as it parses it; the first setting stays.
  const tunables = environ.find((v) => v.startsWith('GLIBC_TUNABLES='));
  expect(tunables).toMatch(/^GLIBC_TUNABLES=glibc\.malloc\.mmap_threshold=33554432\b/);
  const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
  expect(cmdline).toContain('--max-semi-space-size=4');
  expect(cmdline).toContain('--initial-old-space-size=64');
  expect(cmdline).toContain('--heap-growing-percent=50');
  // No launcher waits for a child: the backup is this process.
  expect(await childrenOf(pid)).toEqual([]);
  await waitFor('the backup to take its lock', async () =>
    (await readdir(join(s.store, 'locks')).catch(() => [])).length > 0 ? true : undefined,
  );
  // glibc >= 2.35 reads glibc.malloc.hugetlb=1 and marks its heap for transparent huge pages.
  const report = process.report.getReport() as { header?: { glibcVersionRuntime?: string } };
  const [major = 0, minor = 0] = (report.header?.glibcVersionRuntime ?? '0.0').split('.').map(Number);
  if (major > 2 || (major === 2 && minor >= 35)) {
    const smaps = await readFile(`/proc/${pid}/smaps`, 'utf8');
    const heap = smaps.slice(smaps.indexOf('[heap]'));
    const flags = /^VmFlags:(.*)$/m.exec(heap)?.[1]?.trim().split(/\s+/) ?? [];
    expect(flags, "VmFlags of the process's [heap] (hg: MADV_HUGEPAGE)").toContain('hg');
  }
  process.kill(pid, 'SIGTERM');
  const r = await run;
  // The backup stops cleanly on the signal (exit code 130, "interrupted").
  expect(r.code).toBe(130);
  expect(r.stderr).toMatch(/^kloset: interrupted/);
  expect(await alive(pid)).toBe(false);
});

it('a SIGKILL of the kloset process ends the backup', { timeout: 180_000 }, async () => {
  if (process.platform !== 'linux') throw new Error('this test reads /proc: it needs Linux');
  const s = await setup();
  const { pid, run } = await startBackup(s);
  process.kill(pid, 'SIGKILL');
  const r = await run;
  expect(r.signal).toBe('SIGKILL');
  expect(await alive(pid)).toBe(false);
});

it('leaves commands that move no data in one process, and passes exit codes through', async () => {
  const { home, env } = await tempHome();
  const missing = join(home, 'nowhere');
  const info = await spawnCli(['at', missing, 'info'], { bin: true, env });
  const backup = await spawnCli(['at', missing, 'backup', home], { bin: true, env });
  expect(info.code).toBe(1);
  expect(backup.code).toBe(info.code);
  expect(backup.stderr).toMatch(/^kloset: no kloset store at .*nowhere/);
  expect(backup.stderr.trim().split('\n')).toHaveLength(1);
});
