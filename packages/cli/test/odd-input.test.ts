/**
 * Odd input, through the binary (bin/kloset.js, running dist/ when built): names with control
 * characters are printed escaped, a corrupt snapshot header is named by `ls` (exit 4), and a
 * `-keyfile` FIFO with no writer fails in one line within its time limit, or ends at SIGTERM/SIGINT.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliHome, klosetIn, makeCliHome, ok, removeDir } from './helpers/cli-home.ts';
import { jsonLines } from './helpers/run.ts';
import { CLI_BIN, spawnCli } from './helpers/spawn.ts';

const PASS = 'odd input passphrase';
let home: CliHome;
let k: ReturnType<typeof klosetIn>;

beforeAll(async () => {
  home = await makeCliHome('odd');
  k = klosetIn(home, { KLOSET_PASSPHRASE: PASS });
});
afterAll(() => removeDir(home?.dir));

/** Every C0 control, DEL and C1 control: none may reach the terminal raw. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: looking for them is the point.
const RAW_CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/;

describe('control characters in names', () => {
  const names = {
    esc: 'a\x1b[31mred\x07',
    newline: 'line1\nline2',
    backslash: 'back\\x1bslash',
    c1: 'c1\u009b2J',
    tab: 'tab\there\r',
  };
  let store: string;

  beforeAll(async () => {
    const data = join(home.dir, 'names');
    await mkdir(data);
    for (const name of Object.values(names)) await writeFile(join(data, name), name);
    store = join(home.dir, 'names-store');
    ok(await k(['at', store, 'create']));
    ok(await k(['at', store, 'backup', '-name', 'n\x1b]0;title\x07', '-tag', 't\x1b', data]));
  });

  it('ls of a snapshot prints them escaped, as ls -b does; -json keeps them raw', async () => {
    const r = ok(await k(['at', store, 'ls', 'latest']));
    const lines = r.stdout.split('\n').filter(Boolean);
    expect(lines).toHaveLength(5);
    for (const line of lines) expect(line).not.toMatch(RAW_CONTROL);
    expect(r.stdout).toContain('  /a\\x1b[31mred\\a\n');
    expect(r.stdout).toContain('  /line1\\nline2\n');
    expect(r.stdout).toContain('  /back\\\\x1bslash\n');
    expect(r.stdout).toContain('  /c1\\u009b2J\n');
    expect(r.stdout).toContain('  /tab\\there\\r\n');
    const json = jsonLines(ok(await k(['at', store, 'ls', '-json', 'latest'])).stdout);
    expect(json.map((e) => e.path).sort()).toEqual(
      Object.values(names)
        .map((n) => `/${n}`)
        .sort(),
    );
  });

  it('ls of the snapshots escapes the name and the tags', async () => {
    const r = ok(await k(['at', store, 'ls']));
    expect(r.stdout).not.toMatch(RAW_CONTROL);
    // NAME, SOURCE (the directory), [TAGS]
    expect(r.stdout).toMatch(/ n\\x1b\]0;title\\a {2}\/\S+ {2}\[t\\x1b\]\n$/);
  });

  it('an error line naming such a path is escaped too', async () => {
    const r = await k(['at', store, 'ls', `latest:/nope\x1b[2J`]);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(RAW_CONTROL);
    expect(r.stderr).toMatch(/^kloset: .*\/nope\\x1b\[2J: no such file or directory in the snapshot\n$/);
  });
});

describe('a corrupt snapshot header', () => {
  it('is named by ls, which lists the others and exits 4', async () => {
    const store = join(home.dir, 'header-store');
    const data = join(home.dir, 'header-data');
    await mkdir(data);
    await writeFile(join(data, 'f'), 'content');
    ok(await k(['at', store, 'create']));
    ok(await k(['at', store, 'backup', '-name', 'good', data]));
    ok(await k(['at', store, 'backup', '-name', 'damaged', data]));
    const all = jsonLines(ok(await k(['at', store, 'ls', '-json'])).stdout);
    const damaged = all.find((s) => s.name === 'damaged')!.id as string;
    const good = all.find((s) => s.name === 'good')!.id as string;
    expect((await readdir(join(store, 'snapshots'))).sort()).toEqual([damaged, good].sort());
    const file = join(store, 'snapshots', damaged);
    const bytes = await readFile(file);
    bytes[bytes.length >> 1]! ^= 0x01;
    await writeFile(file, bytes);

    const r = await k(['at', store, 'ls']);
    expect(r.code, r.stderr).toBe(4);
    expect(r.stdout).toMatch(new RegExp(`^${good.slice(0, 8)} .* good  ${data}\\n$`));
    expect(r.stderr).toMatch(
      new RegExp(
        `^kloset: snapshot ${damaged}: cannot be read: corrupt \\(.+\\) \\(run 'kloset check'\\)\\n$`,
      ),
    );
    const json = await k(['at', store, 'ls', '-json']);
    expect(json.code).toBe(4);
    expect(jsonLines(json.stdout).map((s) => s.id)).toEqual([good]);
    expect(json.stderr).toContain(`kloset: snapshot ${damaged}: cannot be read`);
  });
});

describe('-keyfile naming a FIFO with no writer', () => {
  let fifo: string;
  let store: string;

  beforeAll(async () => {
    fifo = join(home.dir, 'key.fifo');
    execFileSync('mkfifo', [fifo]);
    store = join(home.dir, 'fifo-store');
    ok(await k(['at', store, 'create']));
  });

  it('fails in one line after 10 s, exit 1', async () => {
    const started = Date.now();
    const r = await spawnCli(['-keyfile', fifo, 'at', store, 'ls'], {
      bin: true,
      cwd: home.work,
      env: home.env,
      timeoutMs: 20_000,
    });
    const elapsed = Date.now() - started;
    expect(r.timedOut).toBe(false);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `kloset: reading keyfile ${fifo}: nothing within 10 s (is it a FIFO with no writer?)\n`,
    );
    expect(elapsed).toBeGreaterThanOrEqual(9_500);
    expect(elapsed).toBeLessThan(15_000);
  }, 30_000);

  it('gives the passphrase a writer sends within the limit', async () => {
    const reading = spawnCli(['-keyfile', fifo, 'at', store, 'ls'], {
      bin: true,
      cwd: home.work,
      env: home.env,
      timeoutMs: 20_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await writeFile(fifo, `${PASS}\nnot this line\n`);
    const r = await reading;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  }, 30_000);

  it.each([
    ['SIGTERM', 'ls'],
    ['SIGINT', 'ls'],
    ['SIGTERM', 'backup'],
  ] as const)(
    '%s during the wait (%s) ends it at once, exit 130',
    async (signal, command) => {
      const argv = command === 'ls' ? ['ls'] : ['backup', home.work];
      const child = spawn(process.execPath, [CLI_BIN, '-keyfile', fifo, 'at', store, ...argv], {
        cwd: home.work,
        env: { ...home.env, PATH: process.env.PATH ?? '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
      const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
        child.on('close', (code) => resolve({ code, at: Date.now() })),
      );
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const sent = Date.now();
      child.kill(signal);
      const { code, at } = await exited;
      clearTimeout(killer);
      expect(code, stderr).toBe(130);
      expect(stderr).toBe('kloset: interrupted\n');
      expect(at - sent).toBeLessThan(2_000);
    },
    30_000,
  );
});
