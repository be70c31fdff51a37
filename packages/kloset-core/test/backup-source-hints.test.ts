/**
 * What a Source tells the backup engine about reading it: `concurrency` (files read at once) and
 * records with `metadataOnOpen` (metadata that comes with the content).
 */
import type { OpenedContent, SourceRecord } from '@kloset/connector-contract';
import { type MemoryEntry, MemorySource } from '@kloset/connector-contract/testing';
import { describe, expect, it } from 'vitest';
import { backup } from '../src/backup/backup.ts';
import { TreeReader } from '../src/snapshot/tree-reader.ts';
import { MemoryRepository, OpenHookSource } from './snapshot-fixtures.ts';

const files = (n: number, extra: Partial<MemoryEntry> = {}): MemoryEntry[] =>
  Array.from({ length: n }, (_, i) => ({
    path: `/f${i}`,
    type: 'file' as const,
    bytes: Buffer.from(`content ${i}`),
    ...extra,
  }));

/** A MemorySource whose opens wait a little and count how many are in flight at once. */
class SlowSource extends MemorySource {
  inFlight = 0;
  maxInFlight = 0;

  override async *scan(signal?: AbortSignal): AsyncIterable<SourceRecord> {
    for await (const r of super.scan(signal)) {
      if (r.type !== 'file') {
        yield r;
        continue;
      }
      yield {
        ...r,
        open: async (): Promise<OpenedContent> => {
          this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
          await new Promise((resolve) => setTimeout(resolve, 5));
          const content = await r.open();
          this.inFlight--;
          return content;
        },
      };
    }
  }
}

describe('backup: Source.concurrency', () => {
  it('reads as many files at once as the source asks (8 without), the option overriding it', async () => {
    const runs: [number | undefined, number | undefined, number][] = [
      [undefined, undefined, 8],
      [24, undefined, 24],
      [24, 3, 3],
    ];
    for (const [asked, option, expected] of runs) {
      const source = new SlowSource(files(40), asked === undefined ? {} : { concurrency: asked });
      const res = await backup(new MemoryRepository(), source, {
        ...(option === undefined ? {} : { fileConcurrency: option }),
      });
      expect(res.filesRead).toBe(40);
      expect(source.maxInFlight, `source concurrency ${asked}, option ${option}`).toBe(expected);
    }
  });
});

describe('backup: files larger than a chunk', () => {
  it('are read at most 8 at once whatever the concurrency, small ones alongside up to it', async () => {
    const big = Array.from({ length: 20 }, (_, i) => ({
      path: `/big${i}`,
      type: 'file' as const,
      bytes: Buffer.alloc(4096 + i, i),
    }));
    const bigOnly = new SlowSource(big, { concurrency: 32 });
    await backup(new MemoryRepository(), bigOnly); // minimum chunk: 2 KiB
    expect(bigOnly.maxInFlight).toBe(8);
    const mixed = new SlowSource([...files(30), ...big.slice(0, 4)], { concurrency: 32 });
    await backup(new MemoryRepository(), mixed);
    expect(mixed.maxInFlight).toBe(32);
  });
});

describe('backup: records with metadataOnOpen', () => {
  const partial = { 's3.key': 'k' };
  const complete = { 's3.key': 'k', 's3.content-type': 'text/plain', 's3.tag.t': 'v' };

  it('records the metadata the opened content brings', async () => {
    const repo = new MemoryRepository();
    const res = await backup(
      repo,
      new MemorySource([...files(3, { metadata: partial, openedMetadata: complete })]),
    );
    expect(res.header.summary.errors).toBe(0);
    const reader = new TreeReader(repo, res.header.root);
    for (let i = 0; i < 3; i++) expect((await reader.get(`/f${i}`, 'file'))?.metadata).toEqual(complete);
  });

  it('are always read, never reused from the parent; complete records still are', async () => {
    const repo = new MemoryRepository();
    await backup(repo, new MemorySource([...files(2, { metadata: complete, changeToken: 't' })]));
    const deferred = new MemorySource([
      { path: '/f0', type: 'file', bytes: Buffer.from('content 0'), changeToken: 't', metadata: complete },
      {
        path: '/f1',
        type: 'file',
        bytes: Buffer.from('content 1'),
        changeToken: 't',
        metadata: partial,
        openedMetadata: complete,
      },
    ]);
    const res = await backup(repo, deferred);
    expect(res.filesRead).toBe(1);
    expect(deferred.opened.get('/f1')).toBe(1);
    expect(deferred.opened.get('/f0')).toBeUndefined();
    expect(res.header.summary.reusedEntries).toBe(1);
  });

  it('keep their partial metadata, with the error, when the content cannot be opened', async () => {
    const repo = new MemoryRepository();
    const res = await backup(
      repo,
      new OpenHookSource(files(1, { metadata: partial, openedMetadata: complete }), {}, (r) =>
        Promise.reject(new Error(`GetObject ${r.path}: access denied`)),
      ),
    );
    expect(res.errors).toEqual([{ path: '/f0', error: 'GetObject /f0: access denied' }]);
    const entry = await new TreeReader(repo, res.header.root).get('/f0', 'file');
    expect(entry).toMatchObject({ metadata: partial, error: 'GetObject /f0: access denied' });
  });

  it('a source that opens such a record without its metadata records an error for it', async () => {
    // Opens the content but drops the metadata that came with it.
    const noMetadata = new OpenHookSource(files(1, { openedMetadata: complete }), {}, async (r) => {
      const content = await r.open();
      return (async function* () {
        yield* content;
      })();
    });
    const res = await backup(new MemoryRepository(), noMetadata);
    expect(res.errors).toEqual([
      { path: '/f0', error: 'the source opened the content without its metadata' },
    ]);
  });
});
