/** source|store|destination add/ls/show/set/unset/rm, the seed documentation's forms included. */
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExitCode } from '../src/exit-codes.ts';
import { removeDir } from './helpers/cli-home.ts';
import { MemoryEngine, memManifest, memSources, record } from './helpers/memory-engine.ts';
import { jsonLines, run } from './helpers/run.ts';

let home: string;
let engine: MemoryEngine;
const k = (argv: string[], env: Record<string, string> = {}) =>
  run(argv, { engine, builtins: [memManifest], env: { XDG_CONFIG_HOME: home, ...env } });
const configPath = () => join(home, 'kloset', 'config.json');

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'kloset-named-'));
  engine = new MemoryEngine();
});
afterEach(() => removeDir(home));

describe('named configurations', () => {
  it('add in both forms (the seed documentation), show masked, ls', async () => {
    const a = await k([
      'source',
      'add',
      'my-bucket',
      'location=mem://data',
      'access_key=AK',
      'secret_access_key=SK',
      'passphrase=pa ss',
      'use_tls=true',
    ]);
    expect(a.code).toBe(0);
    expect(a.stdout).toBe('added source @my-bucket\n');
    expect((await k(['store', 'add', 'st', 'mem://store', 'region=eu'])).code).toBe(0);
    const show = await k(['source', 'show', 'my-bucket']);
    expect(show.stdout).toBe(
      'my-bucket:\n    location=mem://data\n    access_key=AK\n    secret_access_key=********\n    passphrase=********\n    use_tls=true\n',
    );
    const secrets = jsonLines((await k(['source', 'show', '-json', '-secrets', 'my-bucket'])).stdout);
    expect(secrets).toEqual([
      {
        name: 'my-bucket',
        options: {
          location: 'mem://data',
          access_key: 'AK',
          secret_access_key: 'SK',
          passphrase: 'pa ss',
          use_tls: 'true',
        },
      },
    ]);
    expect(jsonLines((await k(['store', 'ls', '-json'])).stdout)).toEqual([
      { name: 'st', location: 'mem://store' },
    ]);
    expect((await stat(configPath())).mode & 0o777).toBe(0o600);
  });

  it('refuses unknown keys, bad values, duplicates and unknown names; saves nothing then', async () => {
    expect((await k(['source', 'add', 'b', 'mem://data'])).code).toBe(0);
    const before = await readFile(configPath(), 'utf8');
    // Bad values of the command line: usage errors (exit 2), as docs/cli.md says.
    const usage: [string[], RegExp][] = [
      [
        ['source', 'add', 'x', 'mem://data', 'colour=red'],
        /source @x: unknown option "colour" \(known: access_key, secret_access_key, use_tls\)/,
      ],
      [
        ['source', 'add', 'x', 'mem://data', 'use_tls=maybe'],
        /source @x: option use_tls: expected true or false, got "maybe"/,
      ],
      [['source', 'set', 'b', 'use_tls=nah'], /expected true or false/],
      [['destination', 'add', 'd', 'mem://out', 'passphrase=x'], /a destination takes no passphrase/],
    ];
    for (const [argv, message] of usage) {
      const r = await k(argv);
      expect(r.code, argv.join(' ')).toBe(ExitCode.Usage);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    }
    const cases: [string[], RegExp][] = [
      [['source', 'add', 'b', 'mem://data'], /source @b already exists/],
      [
        ['source', 'add', 'x', 'gcs://b'],
        /no source connector for gcs:\/\/ locations is installed: add it with "kloset pkg add gcs"/,
      ],
      [['source', 'set', 'nope', 'use_tls=true'], /unknown source @nope \(known sources: b\)/],
      [['source', 'unset', 'b', 'access_key'], /source @b has no option "access_key"/],
    ];
    for (const [argv, message] of cases) {
      const r = await k(argv);
      expect(r.code, argv.join(' ')).toBe(ExitCode.Error);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    }
    expect(await readFile(configPath(), 'utf8')).toBe(before);
    for (const argv of [
      ['source', 'add', 'bad name!', 'mem://x'],
      ['source', 'add', 'x'],
      ['source', 'set', 'b', 'novalue'],
      ['source'],
    ]) {
      expect((await k(argv)).code, argv.join(' ')).toBe(ExitCode.Usage);
    }
  });

  it("a location the connector's checkLocation refuses is a usage error, at add and at set", async () => {
    expect((await k(['source', 'add', 'b', 'mem://data'])).code).toBe(0);
    const before = await readFile(configPath(), 'utf8');
    for (const argv of [
      ['source', 'add', 'x', 'mem://'],
      ['source', 'set', 'b', 'location=mem://'],
    ]) {
      const r = await k(argv);
      expect(r.code, argv.join(' ')).toBe(ExitCode.Usage);
      expect(r.stderr).toMatch(
        /^kloset: source @[bx]: location "mem:\/\/": the name is missing \(expected mem:\/\/NAME\)\n$/,
      );
    }
    expect(await readFile(configPath(), 'utf8')).toBe(before);
  });

  it('set, unset, rm', async () => {
    await k(['source', 'add', 'b', 'mem://data', 'access_key=A']);
    expect((await k(['source', 'set', 'b', 'use_tls=false', 'access_key=B'])).code).toBe(0);
    expect(jsonLines((await k(['source', 'show', '-json', 'b'])).stdout)[0]!.options).toEqual({
      location: 'mem://data',
      access_key: 'B',
      use_tls: 'false',
    });
    expect((await k(['source', 'unset', 'b', 'access_key'])).code).toBe(0);
    expect(jsonLines((await k(['source', 'rm', '-json', 'b'])).stdout)).toEqual([
      { name: 'b', kind: 'source', removed: true },
    ]);
    expect((await k(['source', 'ls'])).stdout).toBe('');
  });

  it('backup @source uses the source passphrase when the store has none (the seed example)', async () => {
    memSources.set('mem://data', [record('/', 'directory'), record('/f', 'file', { size: 3 })]);
    await k(['source', 'add', 'my-s3-bucket', 'location=mem://data', 'passphrase=from-source']);
    expect((await k(['at', 'mem://backups', 'create'], { KLOSET_PASSPHRASE: 'from-source' })).code).toBe(0);
    const r = await k(['at', 'mem://backups', 'backup', '@my-s3-bucket']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});
