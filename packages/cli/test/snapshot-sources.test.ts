/**
 * Snapshots told apart by their source, over the in-memory engine: a named source names its
 * snapshots, `ls` shows name and source, `-source` chooses, and `latest` among several sources is
 * refused with the list of sources (exit 2) by every command that takes it. The same through the
 * built binary against S3: e2e-sources-s3.test.ts.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { latestChoice, sourceFlagValue } from '../src/commands/latest-choice.ts';
import { sourceLabel } from '../src/commands/views.ts';
import { AmbiguousLatestError } from '../src/engine/ambiguous-latest.ts';
import type { SnapshotView } from '../src/engine/engine.ts';
import { removeDir } from './helpers/cli-home.ts';
import { MemoryEngine, memManifest, memSources, record } from './helpers/memory-engine.ts';
import { jsonLines, run } from './helpers/run.ts';

let engine: MemoryEngine;
let home: string;
const STORE = 'mem://store';

function kl(argv: string[]) {
  return run(['at', STORE, ...argv], {
    engine,
    builtins: [memManifest],
    env: { KLOSET_PASSPHRASE: 'secret', XDG_CONFIG_HOME: home },
  });
}

async function snapshotOf(argv: string[]): Promise<{ id: string; name: string }> {
  const r = await kl(['backup', '-json', ...argv]);
  expect(r.code, r.stderr).toBe(0);
  return jsonLines(r.stdout)[0]!.snapshot as { id: string; name: string };
}

beforeEach(async () => {
  engine = new MemoryEngine();
  home = await mkdtemp(join(tmpdir(), 'kloset-sources-'));
  await mkdir(join(home, 'kloset'));
  await writeFile(
    join(home, 'kloset', 'config.json'),
    JSON.stringify({ sources: { web: { location: 'mem://web' }, gone: { location: 'mem://db' } } }),
  );
  memSources.set('mem://web', [record('/', 'directory'), record('/index.html', 'file', { size: 3 })]);
  memSources.set('mem://db', [record('/', 'directory'), record('/dump', 'file', { size: 7 })]);
  expect((await kl(['create'])).code).toBe(0);
});
afterEach(() => removeDir(home));

describe('snapshot names', () => {
  it('a backup of @NAME is named @NAME unless -name says otherwise; of a location, after its root', async () => {
    expect((await snapshotOf(['@web'])).name).toBe('@web');
    expect((await snapshotOf(['-name', 'mine', '@web'])).name).toBe('mine');
    expect((await snapshotOf(['mem://db'])).name).toBe('mem://db');
  });
});

describe('-source and latest', () => {
  let web: { id: string };
  let oldWeb: { id: string };
  let db: { id: string };
  beforeEach(async () => {
    // As a backup before named sources named their snapshots: the root as its name.
    oldWeb = await snapshotOf(['-name', '/', '@web']);
    db = await snapshotOf(['-tag', 'nightly', 'mem://db']);
    web = await snapshotOf(['@web']);
  });

  it('ls shows each name and source in aligned columns', async () => {
    const lines = (await kl(['ls'])).stdout.trimEnd().split('\n');
    expect(lines.map((l) => l.split(/ {2,}/).slice(4))).toEqual([
      ['/', 'mem://test/mem://web'],
      ['mem://db', 'mem://test/mem://db', '[nightly]'],
      ['@web', 'mem://test/mem://web'],
    ]);
    const at = lines.map((l) => l.indexOf('mem://test/'));
    expect(new Set(at).size).toBe(1);
  });

  it('latest among several sources: exit 2 and one line per source, newest first, for every command', async () => {
    const r = await kl(['ls', 'latest']);
    expect(r.code).toBe(2);
    const [first, ...rest] = r.stderr.trimEnd().split('\n');
    expect(first).toBe(
      'kloset: "latest" is ambiguous: the snapshots it is chosen from come from 2 sources; choose one with -source, or give a snapshot id:',
    );
    expect(rest).toHaveLength(2);
    expect(rest[0]).toMatch(
      new RegExp(
        `^  @web +mem://test/mem://web +${web.id.slice(0, 8)} +\\S+ \\S+ +2 snapshots +-source @web$`,
      ),
    );
    // No -source names a mem:// source: its id is the way.
    expect(rest[1]).toMatch(
      new RegExp(
        `^  mem://db +mem://test/mem://db +${db.id.slice(0, 8)} .* 1 snapshot +\\(no -source names it: give the id\\)$`,
      ),
    );
    for (const argv of [
      ['info', 'latest'],
      ['rm', 'latest'],
      ['check', 'latest'],
      ['restore', '-to', 'mem://out', 'latest'],
    ]) {
      const again = await kl(argv);
      expect(again.code, argv.join(' ')).toBe(2);
      expect(again.stderr).toBe(r.stderr);
    }
    expect(jsonLines((await kl(['ls', '-json'])).stdout)).toHaveLength(3);
  });

  it('-source @NAME: its snapshots by source and by name; latest is then its newest', async () => {
    const ids = async (argv: string[]) =>
      jsonLines((await kl(['ls', '-json', ...argv])).stdout).map((s) => s.id);
    expect(await ids(['-source', '@web'])).toEqual([oldWeb.id, web.id]);
    expect(await ids(['-source', 'mem://db'])).toEqual([db.id]);
    const info = await kl(['info', '-json', '-source', '@web', 'latest']);
    expect((jsonLines(info.stdout)[0]!.snapshot as SnapshotView).id).toBe(web.id);
    // A filter that leaves one source decides too.
    expect((await kl(['info', '-json', '-tag', 'nightly', 'latest'])).code).toBe(0);
    // @gone pointed at mem://web once: that snapshot is named @gone; those of mem://db match by source.
    const before = await snapshotOf(['-name', '@gone', 'mem://web']);
    expect(await ids(['-source', '@gone'])).toEqual([db.id, before.id]);
  });

  it('an unknown @NAME is one line, exit 1; an empty -source is a usage error; a source with no snapshot, exit 1', async () => {
    const unknown = await kl(['ls', '-source', '@nope']);
    expect([unknown.code, unknown.stderr]).toEqual([
      1,
      'kloset: unknown source @nope (known sources: gone, web)\n',
    ]);
    const empty = await kl(['ls', '-source', '']);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/^kloset: flag -source for ls needs a non-empty value/);
    const none = await kl(['restore', '-to', 'mem://out', '-source', 'mem://nothing', 'latest']);
    expect([none.code, none.stderr]).toEqual([
      1,
      'kloset: no snapshot with source mem://nothing for "latest"\n',
    ]);
  });
});

describe('labels and -source hints', () => {
  const snap = (name: string, source: SnapshotView['source']): SnapshotView => ({
    id: 'ab'.repeat(32),
    time: 0,
    durationMs: 0,
    name,
    tags: [],
    hostname: 'h',
    username: 'u',
    source,
    summary: { files: 0, directories: 0, symlinks: 0, errors: 0, bytes: 0, storedBytes: 0 },
  });
  const bucket = { protocol: 's3', origin: '127.0.0.1:7480/b', root: '/' };
  const photos = { ...bucket, root: '/photos/' };
  const dir = { protocol: 'fs', origin: 'here', root: '/srv/my www' };

  it('a bucket as its URL, a directory as its path here and HOST:PATH elsewhere', () => {
    expect(sourceLabel(bucket, 'here')).toBe('s3://127.0.0.1:7480/b');
    expect(sourceLabel(photos, 'here')).toBe('s3://127.0.0.1:7480/b/photos/');
    expect(sourceLabel(dir, 'here')).toBe('/srv/my www');
    expect(sourceLabel(dir, 'there')).toBe('here:/srv/my www');
  });

  it('the -source of a configured @NAME, a bucket URL, a local path; none for another machine', () => {
    expect(sourceFlagValue(snap('@b', bucket), ['b'], 'here')).toBe('@b');
    expect(sourceFlagValue(snap('@b', bucket), [], 'here')).toBe('s3://127.0.0.1:7480/b');
    expect(sourceFlagValue(snap('/', photos), [], 'here')).toBe('s3://127.0.0.1:7480/b/photos/');
    expect(sourceFlagValue(snap('x', dir), [], 'here')).toBe('/srv/my www');
    expect(sourceFlagValue(snap('x', dir), [], 'there')).toBeUndefined();
    const err = latestChoice(
      new AmbiguousLatestError('x', [
        { newest: snap('x', dir), count: 1 },
        { newest: snap('@b', bucket), count: 3 },
      ]),
      ['b'],
      'here',
    );
    expect(err.exitCode).toBe(2);
    expect(err.choices.map((l) => l.split(/ {2,}/).at(-1))).toEqual(["-source '/srv/my www'", '-source @b']);
  });
});
