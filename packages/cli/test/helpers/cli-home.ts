/**
 * A throw-away kloset home for tests of the binary: HOME and the XDG directories in a new temporary
 * directory, a work directory to run in, and helpers to run bin/kloset.js there. Temporary
 * directories are the test's to remove: `testDir` does it, else `removeDir` in afterAll/afterEach.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, onTestFinished } from 'vitest';
import { type SpawnResult, spawnCli } from './spawn.ts';

export interface CliHome {
  readonly dir: string;
  /** The current directory of the commands. */
  readonly work: string;
  /** $XDG_DATA_HOME/kloset/packages */
  readonly packages: string;
  /** $XDG_CONFIG_HOME/kloset/config.json */
  readonly config: string;
  readonly env: Readonly<Record<string, string>>;
}

/** Removes `dir` and all it holds (nothing if it is gone, or was never made). */
export async function removeDir(dir: string | undefined): Promise<void> {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}

/** A new temporary directory kloset-PREFIX-XXXXXX, removed when the current test ends, pass or fail. */
export async function testDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `kloset-${prefix}-`));
  onTestFinished(() => removeDir(dir));
  return dir;
}

/** A new home in kloset-PREFIX-XXXXXX; remove it with `removeDir(home.dir)`. */
export async function makeCliHome(prefix: string): Promise<CliHome> {
  const dir = await mkdtemp(join(tmpdir(), `kloset-${prefix}-`));
  const work = join(dir, 'work');
  await mkdir(work);
  return {
    dir,
    work,
    packages: join(dir, 'data', 'kloset', 'packages'),
    config: join(dir, 'config', 'kloset', 'config.json'),
    env: {
      HOME: dir,
      XDG_CONFIG_HOME: join(dir, 'config'),
      XDG_DATA_HOME: join(dir, 'data'),
      XDG_CACHE_HOME: join(dir, 'cache'),
      KLOSET_PKG_PATH: '',
      KLOSET_DEBUG: '',
      NODE_OPTIONS: '',
    },
  };
}

/** Runs the built binary in `home.work` with the home's environment plus `env`. */
export function klosetIn(
  home: CliHome,
  env: Record<string, string> = {},
): (argv: readonly string[], more?: Record<string, string>) => Promise<SpawnResult> {
  return (argv, more = {}) =>
    spawnCli(argv, { bin: true, cwd: home.work, env: { ...home.env, ...env, ...more }, timeoutMs: 180_000 });
}

/** A new home whose commands see `env`, with the s3 package installed as a user does it. */
export async function s3CliHome(
  prefix: string,
  env: Record<string, string>,
): Promise<{ home: CliHome; k: ReturnType<typeof klosetIn> }> {
  const home = await makeCliHome(prefix);
  const k = klosetIn(home, env);
  ok(await k(['pkg', 'add', 's3']));
  return { home, k };
}

/** The result, after checking the command succeeded (the failure shows its stderr). */
export function ok(r: SpawnResult): SpawnResult {
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
  return r;
}

/** Checks a failure: exit code, exactly one `kloset: ` line on stderr, no stack trace. Returns it. */
export function failsInOneLine(r: SpawnResult, code = 1): string {
  expect(r.timedOut).toBe(false);
  expect(r.code, r.stderr).toBe(code);
  expect(r.stderr).toMatch(/^kloset: [^\n]+\n$/);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  return r.stderr.trimEnd();
}
