/**
 * `-json-progress` through the built binary: progress events as JSON Lines on stderr (stderr is a
 * pipe here, not a terminal), stdout untouched (the one result line with -json, the human line
 * without), a last event with done: true whose counts are the result's, and -quiet refused.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliHome, failsInOneLine, klosetIn, makeCliHome, ok, removeDir } from './helpers/cli-home.ts';
import { jsonLines } from './helpers/run.ts';

let home: CliHome;
let k: ReturnType<typeof klosetIn>;
let data: string;
let store: string;

interface ProgressEvent {
  type: string;
  command: string;
  elapsed_ms: number;
  entries: number;
  bytes: number;
  total_entries: number | null;
  total_bytes: number | null;
  scanned_entries: number | null;
  scanned_bytes: number | null;
  eta_seconds: number | null;
  rate_bytes_per_second: number;
  errors: number;
  done: boolean;
}

const KEYS = [
  'type',
  'command',
  'elapsed_ms',
  'entries',
  'bytes',
  'total_entries',
  'total_bytes',
  'scanned_entries',
  'scanned_bytes',
  'eta_seconds',
  'rate_bytes_per_second',
  'errors',
  'done',
];

/** Every line of stderr, each a progress event of `command`; the last one, and only it, done. */
function progressEvents(stderr: string, command: string): ProgressEvent[] {
  expect(stderr).not.toContain('\r');
  expect(stderr.endsWith('\n')).toBe(true);
  const events = stderr
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as ProgressEvent);
  expect(events.length).toBeGreaterThanOrEqual(1);
  for (const e of events) {
    expect(Object.keys(e)).toEqual(KEYS);
    expect(e.type).toBe('progress');
    expect(e.command).toBe(command);
  }
  expect(events.map((e) => e.done)).toEqual([...events.slice(1).map(() => false), true]);
  // One event a second at the most, before the last one.
  const timed = events.slice(0, -1).map((e) => e.elapsed_ms);
  for (let i = 1; i < timed.length; i++) expect(timed[i]! - timed[i - 1]!).toBeGreaterThanOrEqual(900);
  return events;
}

/** The counts of a snapshot's summary that its backup's progress adds up. */
type Summary = Record<'files' | 'directories' | 'symlinks' | 'errors' | 'bytes', number>;

beforeAll(async () => {
  home = await makeCliHome('json-progress');
  k = klosetIn(home, { KLOSET_PASSPHRASE: 'json progress passphrase' });
  data = join(home.dir, 'data');
  await mkdir(join(data, 'sub', 'deeper'), { recursive: true });
  await writeFile(join(data, 'a.bin'), randomBytes(70_000));
  await writeFile(join(data, 'sub', 'b.txt'), 'b\n');
  await writeFile(join(data, 'sub', 'deeper', 'c.bin'), randomBytes(12_345));
  await writeFile(join(data, 'empty'), '');
  await symlink('a.bin', join(data, 'link'));
  store = join(home.dir, 'store');
  ok(await k(['at', store, 'create']));
});
afterAll(() => removeDir(home?.dir));

describe('-json-progress', () => {
  it('backup -json: stdout is the one result line, stderr the events, the last done with its counts', async () => {
    const r = ok(await k(['at', store, 'backup', '-json', '-json-progress', data]));
    const results = jsonLines(r.stdout);
    expect(results).toHaveLength(1);
    expect(r.stdout.split('\n')).toHaveLength(2);
    const summary = (results[0]!.snapshot as { summary: Summary }).summary;
    expect(summary).toMatchObject({ files: 4, directories: 3, symlinks: 1, errors: 0, bytes: 82_347 });
    const last = progressEvents(r.stderr, 'backup').at(-1)!;
    expect(last).toMatchObject({
      entries: summary.files + summary.directories + summary.symlinks + summary.errors,
      bytes: summary.bytes,
      total_entries: 8,
      total_bytes: 82_347,
      scanned_entries: null,
      scanned_bytes: null,
      eta_seconds: 0,
      errors: 0,
      done: true,
    });
  });

  it('restore, -json-progress before "at": stdout is the one result line, the last event has its counts', async () => {
    const to = join(home.dir, 'restored');
    const r = ok(await k(['-json-progress', 'at', store, 'restore', '-json', '-to', to, 'latest']));
    const results = jsonLines(r.stdout);
    expect(results).toHaveLength(1);
    expect(r.stdout.split('\n')).toHaveLength(2);
    const result = results[0]! as { entries: number; skipped: number; bytes: number };
    expect(result.entries).toBe(8);
    const last = progressEvents(r.stderr, 'restore').at(-1)!;
    expect(last).toMatchObject({
      entries: result.entries + result.skipped,
      bytes: result.bytes,
      total_entries: 8,
      total_bytes: 82_347,
      scanned_entries: null,
      eta_seconds: 0,
      done: true,
    });
  });

  it('alone: stdout keeps the human line, stderr carries the events', async () => {
    const r = ok(await k(['at', store, 'backup', '-json-progress', data]));
    expect(r.stdout).toMatch(/^snapshot [0-9a-f]{8} of .*: 4 files, 3 directories, [^\n]*\n$/);
    expect(progressEvents(r.stderr, 'backup').at(-1)).toMatchObject({ entries: 8, bytes: 82_347 });
  });

  it('a command without progress prints no event', async () => {
    const r = ok(await k(['-json-progress', 'at', store, 'ls', '-json']));
    expect(jsonLines(r.stdout)).toHaveLength(2);
    expect(r.stderr).toBe('');
  });

  it('with -quiet is a usage error, before anything is done, wherever each is given', async () => {
    const before = jsonLines(ok(await k(['at', store, 'ls', '-json'])).stdout).length;
    for (const argv of [
      ['-quiet', 'at', store, 'backup', '-json-progress', data],
      ['-json-progress', 'at', store, 'backup', '-quiet', '-json', data],
      ['at', store, 'backup', '-quiet', '-json-progress', data],
    ]) {
      const r = await k(argv);
      expect(r.stdout).toBe('');
      expect(failsInOneLine(r, 2)).toBe(
        'kloset: backup: -json-progress and -quiet cannot be used together (see "kloset backup -h")',
      );
    }
    expect(jsonLines(ok(await k(['at', store, 'ls', '-json'])).stdout)).toHaveLength(before);
  });

  it('is listed among the global flags', async () => {
    const r = ok(await k(['help']));
    expect(r.stdout).toMatch(/\n {2}-json-progress +print progress on stderr as JSON Lines/);
  });
});
