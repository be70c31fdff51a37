/**
 * Records of one scan with the same content (SourceRecord.sharedContent, the S3 source's latest
 * version of a key: its plain file and its version entry): the engine reads the content once and
 * stores the second record of the pair with the first's chunks and its own metadata.
 */
import type { EntryMetadata, SharedContent, SourceRecord } from '@kloset/connector-contract';
import { type MemoryEntry, MemorySource, type MemorySourceOptions } from '@kloset/connector-contract/testing';
import { describe, expect, it } from 'vitest';
import { backup } from '../src/backup/backup.ts';
import { SharedContents } from '../src/backup/shared-contents.ts';
import { TreeReader } from '../src/snapshot/tree-reader.ts';
import { MemoryRepository } from './snapshot-fixtures.ts';

/** A MemorySource whose records at the given paths carry `sharedContent`. */
class PairSource extends MemorySource {
  readonly #shares: ReadonlyMap<string, SharedContent>;

  constructor(
    entries: readonly MemoryEntry[],
    shares: ReadonlyMap<string, SharedContent>,
    options: MemorySourceOptions = {},
  ) {
    super(entries, options);
    this.#shares = shares;
  }

  override async *scan(signal?: AbortSignal): AsyncIterable<SourceRecord> {
    for await (const r of super.scan(signal)) {
      const sharedContent = this.#shares.get(r.path);
      yield sharedContent === undefined ? r : { ...r, sharedContent };
    }
  }
}

const plainMeta = { 's3.key': 'k', 's3.content-type': 'text/plain' };
const listed = { 's3.version-id': 'v1', 's3.is-latest': 'true' };
const withoutListed = (m: EntryMetadata): EntryMetadata =>
  Object.fromEntries(Object.entries(m).filter(([k]) => !(k in listed)));

/** `/a` (a version entry) and `/b` (its plain file): one content, metadata learnt on open. */
function pair(bytes: Buffer, key = 'k#v1'): { entries: MemoryEntry[]; shares: Map<string, SharedContent> } {
  const entries: MemoryEntry[] = [
    {
      path: '/a',
      type: 'file',
      bytes,
      metadata: { 's3.key': 'k', ...listed },
      openedMetadata: { ...plainMeta, ...listed },
    },
    { path: '/b', type: 'file', bytes, metadata: { 's3.key': 'k' }, openedMetadata: plainMeta },
  ];
  const shares = new Map<string, SharedContent>([
    ['/a', { key, metadata: (other) => ({ ...other, ...listed }) }],
    ['/b', { key, metadata: withoutListed }],
  ]);
  return { entries, shares };
}

async function entriesOf(repo: MemoryRepository, root: ConstructorParameters<typeof TreeReader>[1]) {
  const reader = new TreeReader(repo, root);
  return { a: await reader.get('/a', 'file'), b: await reader.get('/b', 'file') };
}

describe('backup: records sharing their content', () => {
  it('opens the content once; the second is stored with the same chunks and its own metadata', async () => {
    const bytes = Buffer.alloc(300_000, 7); // several chunks
    const { entries, shares } = pair(bytes);
    const source = new PairSource(entries, shares);
    const repo = new MemoryRepository();
    const res = await backup(repo, source);
    expect(res.header.summary.errors).toBe(0);
    expect(res.filesRead).toBe(1);
    expect((source.opened.get('/a') ?? 0) + (source.opened.get('/b') ?? 0)).toBe(1);
    const { a, b } = await entriesOf(repo, res.header.root);
    expect(a?.chunks.length).toBeGreaterThan(1);
    expect(b?.chunks).toEqual(a?.chunks);
    expect(b?.size).toBe(bytes.length);
    expect(a?.metadata).toEqual({ ...plainMeta, ...listed });
    expect(b?.metadata).toEqual(plainMeta);
    expect(res.header.summary.bytes).toBe(2 * bytes.length);
  });

  it('without the key, each record is opened (the same records, no pair)', async () => {
    const { entries } = pair(Buffer.from('same'));
    const source = new PairSource(entries, new Map());
    const res = await backup(new MemoryRepository(), source);
    expect(res.filesRead).toBe(2);
  });

  it('records of different keys are each opened', async () => {
    const { entries } = pair(Buffer.from('same'));
    const shares = new Map<string, SharedContent>([
      ['/a', { key: 'x', metadata: (m) => m }],
      ['/b', { key: 'y', metadata: (m) => m }],
    ]);
    const res = await backup(new MemoryRepository(), new PairSource(entries, shares));
    expect(res.filesRead).toBe(2);
  });

  it('gives the second the error of the first when the content cannot be read', async () => {
    const { entries, shares } = pair(Buffer.from('x'));
    const failing: MemoryEntry[] = entries.map((e) => (e.path === '/a' ? { ...e, bytes: undefined } : e));
    class Failing extends PairSource {
      override async *scan(signal?: AbortSignal): AsyncIterable<SourceRecord> {
        for await (const r of super.scan(signal)) {
          yield r.path === '/a' || r.path === '/b'
            ? { ...r, open: () => Promise.reject(new Error(`GetObject ${r.path}: access denied`)) }
            : r;
        }
      }
    }
    const repo = new MemoryRepository();
    const res = await backup(repo, new Failing(failing, shares));
    expect(res.header.summary.errors).toBe(2);
    expect(res.errors.map((e) => [e.path, e.error])).toEqual([
      ['/a', 'GetObject /a: access denied'],
      ['/b', 'GetObject /a: access denied'],
    ]);
    const { a, b } = await entriesOf(repo, res.header.root);
    expect(b?.error).toBe('GetObject /a: access denied');
    expect(b?.metadata).toEqual({ 's3.key': 'k' });
    expect(a?.error).toBeDefined();
  });

  it('takes the chunks of a first reused from the parent snapshot', async () => {
    const bytes = Buffer.from('version one');
    const repo = new MemoryRepository();
    // The parent holds /a (complete metadata, reusable) but not /b.
    const first: MemoryEntry = {
      path: '/a',
      type: 'file',
      bytes,
      changeToken: 'e1',
      metadata: { ...plainMeta, ...listed },
    };
    const parent = await backup(repo, new MemorySource([first]));
    const shares = new Map<string, SharedContent>([
      ['/a', { key: 'k#v1', metadata: (other) => ({ ...other, ...listed }) }],
      ['/b', { key: 'k#v1', metadata: withoutListed }],
    ]);
    const source = new PairSource(
      [first, { path: '/b', type: 'file', bytes, metadata: { 's3.key': 'k' }, openedMetadata: plainMeta }],
      shares,
    );
    const res = await backup(repo, source, { parent: parent.header });
    expect(res.filesRead).toBe(0);
    expect(res.header.summary.reusedEntries).toBe(1);
    const { a, b } = await entriesOf(repo, res.header.root);
    expect(b?.chunks).toEqual(a?.chunks);
    expect(b?.metadata).toEqual(plainMeta);
  });
});

describe('SharedContents', () => {
  const rec = (key: string): SourceRecord => ({
    path: `/${key}`,
    type: 'file',
    size: 1,
    mtime: { sec: 0, nsec: 0 },
    metadata: { k: key },
    sharedContent: { key, metadata: (m) => m },
    open: () => Promise.reject(new Error('not opened')),
  });

  it('hands the first result to the second once, and forgets the oldest beyond its capacity', async () => {
    const s = new SharedContents(2);
    const [a, b, c] = [rec('a'), rec('b'), rec('c')];
    expect(s.takeFirst(a)).toBeUndefined();
    s.reused(a, [], 1);
    s.reading(b);
    s.reading(c);
    expect(s.size).toBe(2);
    expect(s.takeFirst(a)).toBeUndefined();
    const second = s.takeFirst(b);
    s.settle(b, { chunks: [], size: 2, metadata: {} });
    expect(await second).toMatchObject({ size: 2 });
    expect(s.takeFirst(b)).toBeUndefined();
    expect(s.size).toBe(1);
    const third = s.takeFirst(c);
    s.abandon('stopped');
    expect(await third).toEqual({ error: 'stopped' });
  });

  it('a second reused from the parent forgets its first', () => {
    const s = new SharedContents();
    s.reused(rec('a'), [], 1);
    s.reused(rec('a'), [], 1);
    expect(s.size).toBe(0);
  });
});
