/** The command line: help for every command, and every usage error in one line with exit 2. */
import { describe, expect, it } from 'vitest';
import { commandName } from '../src/commands/command.ts';
import { COMMANDS } from '../src/commands/table.ts';
import { ExitCode } from '../src/exit-codes.ts';
import { jsonLines, run } from './helpers/run.ts';

function oneErrorLine(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l !== '');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^kloset: /);
  return lines[0]!;
}

describe('help', () => {
  it.each([['help'], ['-h'], ['--help'], ['-help']])(
    'kloset %s lists every command and the exit codes',
    async (arg) => {
      const r = await run([arg]);
      expect(r.code).toBe(0);
      for (const c of COMMANDS) expect(r.stdout).toContain(`  ${commandName(c)} `);
      expect(r.stdout).toMatch(/Exit codes:\n\s+0\s+success/);
      expect(r.stderr).toBe('');
    },
  );

  for (const cmd of COMMANDS) {
    const name = commandName(cmd);
    it.each([['-h'], ['--help'], ['-help']])(`kloset ${name} %s`, async (flag) => {
      const r = await run([...cmd.words, flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: kloset .*${name}`));
      expect(r.stdout).toContain('-json');
    });
    it(`kloset help ${name}`, async () => {
      const r = await run(['help', ...cmd.words]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(cmd.summary);
    });
  }

  it('help wins over other errors on the same line', async () => {
    const r = await run(['restore', '-bogus', '-h']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: kloset \[at LOCATION\] restore/);
  });
});

describe('usage errors: one line on stderr, exit 2, nothing on stdout', () => {
  it.each([
    [[], /no command given/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [['lss'], /did you mean "ls"/],
    [['at'], /"at" needs a location/],
    [['at', '/x'], /no command given/],
    [['at', '/x', 'version'], /version does not take a store/],
    [['-bogus', 'ls'], /unknown flag "-bogus" before the command/],
    [['ls', '-bogus'], /unknown flag "-bogus" for ls \(see "kloset ls -h"\)/],
    [['restore', 'latest'], /restore: missing -to DIR\|@NAME/],
    [['restore', '-to', '/tmp/x'], /restore: missing SNAPSHOT\[:PATH\]/],
    [['restore', '-to'], /flag -to for restore needs a value/],
    [['ls', 'a', 'b'], /ls: unexpected argument "b"/],
    [['rm'], /rm: give SNAPSHOT ids, or filters \(-tag, -name, -source, -since, -before\)/],
    [['ls', '-since', 'yesterday'], /ls: -since "yesterday" is neither a date/],
    [['ls', '-since', '2025-02-30'], /ls: -since "2025-02-30" is neither a date/],
    [['rm', '-before', '7x'], /rm: -before "7x" is neither a date/],
    [['check', '-since', '1d', '-before', '2d'], /check: -since 1d is not before -before 2d/],
    [['info', '-tag', 'daily'], /info: the filters choose a SNAPSHOT: give one/],
    [['cat', 'latest'], /cat: give the file as SNAPSHOT:PATH/],
    [['cat'], /cat: missing SNAPSHOT:PATH/],
    [['diff', 'latest'], /diff: missing SNAPSHOT\[:PATH\]/],
    [['prune'], /prune: give a retention policy/],
    [['prune', '-keep-daily', 'x'], /prune: -keep-daily takes a positive whole number, not "x"/],
    [['prune', '-keep-last', '0'], /prune: -keep-last takes a positive whole number/],
    [['prune', '-keep-last', '1', '-group-by', 'host'], /-group-by takes source or none/],
    [['maintenance', '-grace', 'soon'], /maintenance: -grace "soon" is not a duration/],
    [['maintenance', 'x'], /maintenance: unexpected argument "x"/],
    [['maintenance', '-repack', '0'], /maintenance: -repack takes a percentage from 1 to 100, not "0"/],
    [['maintenance', '-repack', '50%'], /-repack takes a percentage/],
    [['sync'], /sync: say where/],
    [['sync', 'to'], /sync: "to" needs a store/],
    [['sync', '-to', '/a', '-from', '/b'], /sync: give -to or -from, not both/],
    [['sync', 'to', '/a', '-from', '/b'], /sync: give either "to STORE" or -to\/-from, not both/],
    [['ls', 'nothex'], /"nothex" is not a snapshot id/],
    [['check', '-fast=perhaps'], /takes true or false/],
    [['help', 'nope'], /no help for "nope"/],
    [['version', '-keyfile', 'x'], /unknown flag "-keyfile" for version/],
  ])('kloset %j', async (argv, message) => {
    const r = await run(argv, { env: { KLOSET_PASSPHRASE: 'x' } });
    expect(r.code).toBe(ExitCode.Usage);
    expect(oneErrorLine(r.stderr)).toMatch(message);
    expect(r.stdout).toBe('');
  });
});

describe('version', () => {
  it('prints human text or one JSON line', async () => {
    expect((await run(['version'])).stdout).toMatch(/^kloset \d+\.\d+\.\d+/);
    const r = await run(['-json', 'version']);
    expect(r.code).toBe(0);
    const lines = jsonLines(r.stdout);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toEqual({
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      node: process.versions.node,
      format: 1,
    });
  });

  it('-quiet prints nothing', async () => {
    expect((await run(['version', '-quiet'])).stdout).toBe('');
  });
});
