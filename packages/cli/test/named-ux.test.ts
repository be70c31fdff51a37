/**
 * Through the built binary: the help of command groups (`kloset pkg -h`, `kloset help source`),
 * bad options of `source|store|destination add|set` as usage errors (exit 2, one line, nothing
 * saved), with the S3 package installed as a user does it, and `source ls` in aligned columns.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../src/commands/table.ts';
import { ExitCode } from '../src/exit-codes.ts';
import { type CliHome, failsInOneLine, klosetIn, makeCliHome, ok, removeDir } from './helpers/cli-home.ts';
import { jsonLines } from './helpers/run.ts';

let home: CliHome;
let k: ReturnType<typeof klosetIn>;

beforeAll(async () => {
  home = await makeCliHome('named-ux');
  k = klosetIn(home);
  ok(await k(['pkg', 'add', 's3']));
}, 180_000);
afterAll(() => removeDir(home?.dir));

/** The subcommands of `group`, from the command table. */
const subcommands = (group: string) =>
  COMMANDS.filter((c) => c.words.length > 1 && c.words[0] === group).map((c) => c.words.slice(1).join(' '));

describe('the help of a command group', () => {
  const asked: [string, string[]][] = [
    ['pkg', ['pkg', '-h']],
    ['store', ['store', '--help']],
    ['source', ['help', 'source']],
    ['destination', ['destination', '-help']],
    ['pkg', ['help', 'pkg']],
  ];
  it.each(asked)('%s: kloset %j prints its subcommands and exits 0', async (group, argv) => {
    const r = await k(argv);
    expect(r.code, r.stderr).toBe(ExitCode.Ok);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(new RegExp(`^Usage: kloset ${group} SUBCOMMAND`));
    const subs = subcommands(group);
    expect(subs.length).toBeGreaterThan(3);
    for (const sub of subs) {
      const summary = COMMANDS.find((c) => c.words.join(' ') === `${group} ${sub}`)!.summary;
      expect(r.stdout).toMatch(new RegExp(`\\n  ${sub} +${summary.replace(/[()]/g, '\\$&')}\\n`));
    }
  });

  it('a group without a subcommand is still a usage error', async () => {
    expect(failsInOneLine(await k(['pkg']), ExitCode.Usage)).toBe(
      'kloset: pkg needs a subcommand: add, list, rm, build',
    );
  });
});

describe('add -h and set -h list the options of the protocols this kloset knows', () => {
  it.each([
    [
      'source',
      'add',
      ['refresh_metadata=true|false', 'concurrency=1..256'],
      ['storage_class=', 'abort_uploads'],
    ],
    ['store', 'set', ['storage_class=TEXT', 'session_token=TEXT'], ['refresh_metadata=', 'abort_uploads']],
    ['destination', 'add', ['abort_uploads_after=TEXT', 'use_tls=true|false'], ['refresh_metadata=']],
  ])('%s %s -h', async (kind, sub, shown, absent) => {
    const r = ok(await k([kind, sub, '-h']));
    const options = r.stdout.slice(r.stdout.indexOf('Options (KEY=VALUE), by location:'));
    expect(options).toContain('\n  s3:// (package s3):\n    access_key=TEXT\n        Access key id.');
    expect(options).toMatch(/\n {4}region=TEXT\n {8}Signing region\./);
    for (const s of shown) expect(options).toContain(`\n    ${s}\n`);
    for (const a of absent) expect(options).not.toContain(a);
  });

  it('without the s3 package: the built-in protocols only, and how to get more', async () => {
    const bare = await makeCliHome('named-ux-bare');
    try {
      const r = ok(await klosetIn(bare)(['destination', 'add', '-h']));
      expect(r.stdout).toContain(
        'Options (KEY=VALUE), by location:\n  a local path or fs:// (package fs):\n    concurrency=1..256\n',
      );
      expect(r.stdout).not.toContain('(package s3)');
      expect(r.stdout).toContain('Other protocols come as packages ("kloset pkg add NAME")');
    } finally {
      await removeDir(bare.dir);
    }
  });
});

describe('bad options of add and set: exit 2, one line, nothing saved', () => {
  const bucket = 's3://127.0.0.1:1/some-bucket';
  const cases: [string[], string][] = [
    [
      ['source', 'add', 'x', bucket, 'colour=red'],
      'kloset: source @x: unknown option "colour" (known: access_key,',
    ],
    [
      ['source', 'add', 'x', bucket, 'use_tls=maybe'],
      'kloset: source @x: option use_tls: expected true or false',
    ],
    [
      ['source', 'add', 'x', bucket, 'access_key=AK'],
      'kloset: source @x: options access_key and secret_access_key go together',
    ],
    [['store', 'add', 'x', bucket, 'storage_class=cold'], 'kloset: store @x: option storage_class: expected'],
    [
      ['destination', 'add', 'x', bucket, 'abort_uploads_after=soon'],
      'kloset: destination @x: option abort_uploads_after: expected a duration',
    ],
    [['source', 'add', 'x', 's3://host'], 'kloset: source @x: location "s3://host": the bucket is missing'],
    [['source', 'set', 'ok', 'session_token=T'], 'kloset: source @ok: option session_token needs access_key'],
    [['store', 'set', 'ok', 'concurrency=0'], 'kloset: store @ok: option concurrency: 0 is out of range'],
  ];

  beforeAll(async () => {
    ok(await k(['source', 'add', 'ok', bucket]));
    ok(await k(['store', 'add', 'ok', bucket]));
  });

  it.each(cases)('kloset %j', async (argv, start) => {
    const before = await readFile(home.config, 'utf8');
    expect(failsInOneLine(await k(argv), ExitCode.Usage).startsWith(start)).toBe(true);
    expect(await readFile(home.config, 'utf8')).toBe(before);
  });
});

describe('a location with a query string in add and set', () => {
  it('saves the options of the query as options, the location without it', async () => {
    ok(await k(['store', 'add', 'qs', 's3://127.0.0.1:1/first-bucket?use_tls=false&region=eu-west-3']));
    ok(await k(['store', 'set', 'qs', 'location=s3://127.0.0.1:1/second-bucket/pre?timeout=120']));
    expect(jsonLines(ok(await k(['store', 'show', '-json', 'qs'])).stdout)).toEqual([
      {
        name: 'qs',
        options: {
          location: 's3://127.0.0.1:1/second-bucket/pre',
          use_tls: 'false',
          region: 'eu-west-3',
          timeout: '120',
        },
      },
    ]);
    const twice = await k([
      'store',
      'set',
      'qs',
      'location=s3://127.0.0.1:1/b3x?use_tls=true',
      'use_tls=false',
    ]);
    expect(failsInOneLine(twice, ExitCode.Usage)).toBe(
      'kloset: store set: use_tls given twice (see "kloset store set -h")',
    );
    const key = await k(['source', 'add', 'qk', 's3://127.0.0.1:1/bkt?access_key=AK']);
    expect(failsInOneLine(key, ExitCode.Usage)).toContain('access_key does not go in a location');
  });
});

describe('ls', () => {
  it('pads names to the widest so that locations line up; -json unchanged', async () => {
    ok(await k(['destination', 'add', 'a', '/tmp/a']));
    ok(await k(['destination', 'add', 'much-longer.name', 's3://127.0.0.1:1/dest-bucket']));
    ok(await k(['destination', 'add', 'mid_1', '/tmp/mid']));
    const r = ok(await k(['destination', 'ls']));
    expect(r.stdout).toBe(
      [
        'a                 /tmp/a',
        'mid_1             /tmp/mid',
        'much-longer.name  s3://127.0.0.1:1/dest-bucket',
        '',
      ].join('\n'),
    );
    expect(jsonLines(ok(await k(['destination', 'ls', '-json'])).stdout)).toEqual([
      { name: 'a', location: '/tmp/a' },
      { name: 'mid_1', location: '/tmp/mid' },
      { name: 'much-longer.name', location: 's3://127.0.0.1:1/dest-bucket' },
    ]);
  });
});
