/** The ScanContext the backup engine hands to `Source.scan`: lookups in the parent snapshot. */
import type {
  EntryPath,
  PreviousEntry,
  ScanContext,
  SourceInfo,
  SourceRecord,
} from '@kloset/connector-contract';
import { type MemoryEntry, MemorySource } from '@kloset/connector-contract/testing';
import { describe, expect, it } from 'vitest';
import { backup } from '../src/backup/backup.ts';
import { BlobKind } from '../src/repository/blob-store.ts';
import { MemoryRepository } from './snapshot-fixtures.ts';

const entries: MemoryEntry[] = [
  { path: '/a.txt', type: 'file', bytes: Buffer.from('alpha'), metadata: { 'x.k': 'v' }, changeToken: 't1' },
  { path: '/d/b.bin', type: 'file', bytes: Buffer.from('beta'), mode: 0o600 },
  { path: '/bad', type: 'file', error: 'EACCES: permission denied' },
];

/** A MemorySource that asks `previous` about a few paths at the start of each scan. */
class AskingSource extends MemorySource {
  readonly answers = new Map<EntryPath, PreviousEntry | undefined>();
  contexts: (ScanContext | undefined)[] = [];
  readonly #ask: readonly EntryPath[];

  constructor(ask: readonly EntryPath[], info?: SourceInfo) {
    super(entries, info ? { info } : {});
    this.#ask = ask;
  }

  override async *scan(signal?: AbortSignal, context?: ScanContext): AsyncIterable<SourceRecord> {
    this.contexts.push(context);
    this.answers.clear();
    for (const path of this.#ask) {
      if (context?.previous) this.answers.set(path, await context.previous(path));
    }
    yield* super.scan(signal);
  }
}

describe('backup: ScanContext', () => {
  it('a first backup offers no previous lookups', async () => {
    const source = new AskingSource(['/a.txt']);
    await backup(new MemoryRepository(), source);
    expect(source.contexts).toHaveLength(1);
    expect(source.contexts[0]?.previous).toBeUndefined();
  });

  it('the next backup looks up the parent: files without error, attributes and token, no chunks', async () => {
    const repo = new MemoryRepository();
    await backup(repo, new MemorySource(entries));
    const source = new AskingSource(['/a.txt', '/d/b.bin', '/bad', '/d', '/missing', '/', 'not/a/path']);
    const second = await backup(repo, source);
    expect(second.filesRead).toBe(0);
    expect(source.answers.get('/a.txt')).toEqual({
      path: '/a.txt',
      type: 'file',
      size: 5,
      mtime: { sec: 1_577_836_800, nsec: 0 },
      mode: 0o644,
      metadata: { 'x.k': 'v' },
      changeToken: 't1',
    });
    expect(source.answers.get('/d/b.bin')).toMatchObject({ size: 4, mode: 0o600, changeToken: 'memory:4' });
    expect(source.answers.get('/d/b.bin')).not.toHaveProperty('chunks');
    for (const path of ['/bad', '/d', '/missing', '/', 'not/a/path']) {
      expect(source.answers.has(path), `asked about ${path}`).toBe(true);
      expect(source.answers.get(path), `previous(${JSON.stringify(path)})`).toBeUndefined();
    }
  });

  it('parent: null offers no lookups; another source has no parent', async () => {
    const repo = new MemoryRepository();
    await backup(repo, new MemorySource(entries));
    const noParent = new AskingSource(['/a.txt']);
    await backup(repo, noParent, { parent: null });
    expect(noParent.contexts[0]?.previous).toBeUndefined();
    const other = new AskingSource(['/a.txt'], { protocol: 'memory', origin: 'other', root: '/' });
    await backup(repo, other);
    expect(other.contexts[0]?.previous).toBeUndefined();
  });

  it('a lookup that cannot read the parent tree gives the parent up: the files are read again', async () => {
    const repo = new MemoryRepository();
    await backup(repo, new MemorySource(entries));
    const getBlob = repo.getBlob.bind(repo);
    repo.getBlob = async (kind, id) => {
      if (kind === BlobKind.Tree) throw new Error('packfile gone');
      return getBlob(kind, id);
    };
    const res = await backup(repo, new AskingSource(['/a.txt']));
    expect(res.parentUnusable).toMatch(/parent snapshot [0-9a-f]{8}: cannot read tree node .*packfile gone/);
    expect(res.header.summary.reusedEntries).toBe(0);
    expect(res.filesRead).toBeGreaterThan(0);
  });
});
