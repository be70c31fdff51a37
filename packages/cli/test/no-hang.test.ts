/**
 * The binary never waits on a stdin that is not a terminal: without a passphrase it fails in one
 * line, with stdin at /dev/null or a closed pipe. The store location uses a connector package
 * installed in the packages directory (test/fixtures/mem-connector), which also tests loading one.
 */
import { cp, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir } from './helpers/cli-home.ts';
import { spawnCli } from './helpers/spawn.ts';

let home: string | undefined;
let env: Record<string, string>;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'kloset-nohang-'));
  await cp(
    new URL('./fixtures/mem-connector', import.meta.url),
    join(home, 'data', 'kloset', 'packages', 'memfix'),
    {
      recursive: true,
    },
  );
  env = { HOME: home, XDG_DATA_HOME: join(home, 'data'), XDG_CONFIG_HOME: join(home, 'config') };
});
afterAll(() => removeDir(home));

const MISSING =
  'kloset: a passphrase is needed: set KLOSET_PASSPHRASE, pass -keyfile FILE, or run from a terminal to be asked\n';

describe('missing passphrase without a terminal', () => {
  it.each([['ignore' as const], ['closed' as const], ['some typed text\n']])(
    'stdin %j: one line, exit 1',
    async (stdin) => {
      const r = await spawnCli(['at', 'memfix://x', 'create'], { env, stdin, timeoutMs: 15_000 });
      expect(r.timedOut).toBe(false);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(MISSING);
      expect(r.stdout).toBe('');
    },
  );

  it('usage errors exit 2 from the binary too', async () => {
    const r = await spawnCli(['bogus'], { env, timeoutMs: 15_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('kloset: unknown command "bogus" (run "kloset help" for the list)\n');
  });

  it('a protocol with no installed connector names the package to add', async () => {
    const r = await spawnCli(['at', 'nope://x', 'create'], { env, timeoutMs: 15_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'kloset: no storage connector for nope:// locations is installed: add it with "kloset pkg add nope"\n',
    );
  });
});
