/**
 * A filtered backup through the scan-ahead, as the CLI runs it: the snapshot holds the kept
 * entries only, progress carries the scan's totals (done at the end), an unchanged re-backup
 * reuses the files, and a dry run counts without writing a snapshot.
 */
import type { Source, SourceRecord } from '@kloset/connector-contract';
import { type MemoryEntry, MemorySource } from '@kloset/connector-contract/testing';
import { describe, expect, it } from 'vitest';
import { backup } from '../src/backup/backup.ts';
import type { BackupProgress } from '../src/backup/backup-options.ts';
import { dryRunBackup } from '../src/backup/dry-run.ts';
import { filteredSource } from '../src/backup/filtered-source.ts';
import { scanAhead } from '../src/backup/scan-ahead.ts';
import { listSnapshots } from '../src/snapshot/snapshots.ts';
import { TreeReader } from '../src/snapshot/tree-reader.ts';
import { collect, MemoryRepository } from './snapshot-fixtures.ts';

const tree: MemoryEntry[] = [
  { path: '/docs', type: 'directory' },
  { path: '/docs/a.txt', type: 'file', bytes: Buffer.from('hello world') },
  { path: '/docs/b.log', type: 'file', bytes: Buffer.from('log') },
  { path: '/src', type: 'directory' },
  { path: '/src/main.ts', type: 'file', bytes: Buffer.from('main();') },
  { path: '/src/x.log', type: 'file', bytes: Buffer.from('xx') },
  { path: '/link', type: 'symlink', linkTarget: 'docs/a.txt' },
];
const PATTERNS = { exclude: ['*.log', '/link'] };

/** The source as the CLI builds it: filtered, then scanned ahead. */
const source = () => scanAhead(filteredSource(new MemorySource(tree), PATTERNS), { maxRecords: 2 });

describe('a filtered backup', () => {
  it('holds the kept entries; progress ends with the scan totals; a re-backup reuses the files', async () => {
    const repo = new MemoryRepository();
    const progress: BackupProgress[] = [];
    const first = await backup(repo, source(), { onProgress: (p) => progress.push(p) });
    const paths = (await collect(new TreeReader(repo, first.header.root).entries())).map((e) => e.path);
    expect(paths.sort()).toEqual(['/', '/docs', '/docs/a.txt', '/src', '/src/main.ts']);
    expect(progress.at(-1)).toMatchObject({
      done: true,
      entries: 5,
      scanned: { entries: 5, bytes: 18, done: true },
    });

    const again = await backup(repo, source());
    expect(again.filesRead).toBe(0);
    expect(again.header.summary.reusedEntries).toBe(2);
  });

  it('dry run: counts what a backup would hold and reuse, writes no snapshot', async () => {
    const repo = new MemoryRepository();
    const none = await dryRunBackup(repo, source());
    expect(none).toEqual({
      entries: 5,
      files: 2,
      directories: 3,
      symlinks: 0,
      errors: 0,
      bytes: 18,
      unchangedFiles: 0,
      unchangedBytes: 0,
    });
    expect(await listSnapshots(repo)).toHaveLength(0);
    const first = await backup(repo, source());
    const seen: string[] = [];
    const after = await dryRunBackup(repo, source(), {
      onEntry: (e) => {
        seen.push(`${e.record.path}${e.unchanged ? ' =' : ''}`);
      },
    });
    expect(after).toMatchObject({ unchangedFiles: 2, unchangedBytes: 18, parent: first.id });
    expect(seen.sort()).toEqual(['/', '/docs', '/docs/a.txt =', '/src', '/src/main.ts =']);
    expect(await listSnapshots(repo)).toHaveLength(1);
  });
});

describe('filterAs', () => {
  it('judges a record by the path and type it stands for, not its own', async () => {
    const record = (path: string, type: 'file' | 'directory', as?: string): SourceRecord => ({
      path,
      type,
      size: 0,
      mtime: { sec: 0, nsec: 0 },
      metadata: {},
      open: async () => (async function* () {})(),
      ...(as !== undefined ? { filterAs: { path: as, type: 'file' } } : {}),
    });
    const records = [
      record('/v', 'directory'),
      record('/v/a', 'file', '/docs/a.txt'),
      record('/v/b', 'file', '/docs/b.log'),
      record('/v/c', 'file', '/cache/c.txt'),
      record('/keep.log', 'file', '/keep.txt'),
    ];
    const inner: Source = {
      info: { protocol: 'test', origin: 'o', root: '/' },
      scan: async function* () {
        yield* records;
      },
      close: async () => {},
    };
    const filtered = filteredSource(inner, { exclude: ['*.log', '/cache'] });
    const kept: string[] = [];
    for await (const r of filtered.scan()) kept.push(r.path);
    expect(kept).toEqual(['/v', '/v/a', '/keep.log']);
  });
});
