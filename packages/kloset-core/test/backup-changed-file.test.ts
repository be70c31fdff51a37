/**
 * A file whose content changes while it is read (the source throws a `changed` ConnectorError
 * after the bytes it read): read once more; if it changes again, kept as read, with a warning.
 * Any other read failure is still an entry error, without a second read.
 */
import { ConnectorError, type OpenedContent, type SourceRecord } from '@kloset/connector-contract';
import { deterministicBytes } from '@kloset/connector-contract/testing';
import { describe, expect, it } from 'vitest';
import { backup } from '../src/backup/backup.ts';
import { BlobKind } from '../src/repository/blob-store.ts';
import { TreeReader } from '../src/snapshot/tree-reader.ts';
import { MemoryRepository, OpenHookSource } from './snapshot-fixtures.ts';

const SCANNED = deterministicBytes(7, 300_000);

async function contentOf(repo: MemoryRepository, root: Uint8Array, path: string) {
  const e = await new TreeReader(repo, root).get(path, 'file');
  if (!e) throw new Error(`no ${path}`);
  const parts = await Promise.all(e.chunks.map((c) => repo.getBlob(BlobKind.Chunk, c.id)));
  return { entry: e, bytes: Buffer.concat(parts) };
}

/** Content that yields `bytes` in pieces, then throws `end` if given. */
function content(bytes: Uint8Array, end?: Error): OpenedContent {
  return (async function* () {
    for (let off = 0; off < bytes.length; off += 65_536) yield bytes.subarray(off, off + 65_536);
    if (end) throw end;
  })();
}

const changed = (why: string) => new ConnectorError('changed', `/data/f.bin ${why}`, { op: 'read' });

/** A source of `/f.bin` (plus an untouched `/ok`) whose n-th open (from 1) gives `open(n)`. */
function sourceOf(open: (n: number, record: SourceRecord) => OpenedContent) {
  let opens = 0;
  const source = new OpenHookSource(
    [
      { path: '/f.bin', type: 'file', bytes: SCANNED },
      { path: '/ok', type: 'file', bytes: Buffer.from('fine') },
    ],
    {},
    async (record) => {
      if (record.path !== '/f.bin') return content(Buffer.from('fine'));
      opens++;
      return open(opens, record);
    },
  );
  return { source, opens: () => opens };
}

describe('a file that changes while it is read', () => {
  it('changed during the first read only: read again, stored whole, no warning', async () => {
    const after = deterministicBytes(8, 350_000);
    const { source, opens } = sourceOf((n) =>
      n === 1 ? content(SCANNED.subarray(0, 200_000), changed('grew while being read')) : content(after),
    );
    const repo = new MemoryRepository();
    const res = await backup(repo, source);
    expect(opens()).toBe(2);
    expect(res.errors).toEqual([]);
    expect(res.warnings).toEqual([]);
    expect(res.warningCount).toBe(0);
    const { entry, bytes } = await contentOf(repo, res.header.root, '/f.bin');
    expect(entry.error).toBeUndefined();
    expect(entry.size).toBe(after.length);
    expect(bytes.equals(after)).toBe(true);
    expect(res.header.summary).toMatchObject({ errors: 0, files: 2, bytes: after.length + 4 });
  });

  it('changed during both reads: stored as the second read gave it, with a warning naming the file', async () => {
    const second = deterministicBytes(9, 123_457);
    const { source, opens } = sourceOf((n) =>
      n === 1
        ? content(SCANNED.subarray(0, 100_000), changed('shrank while being read'))
        : content(second, changed('was modified after it was opened')),
    );
    const repo = new MemoryRepository();
    const res = await backup(repo, source);
    expect(opens()).toBe(2);
    expect(res.errors).toEqual([]);
    expect(res.header.summary.errors).toBe(0);
    expect(res.warningCount).toBe(1);
    expect(res.warnings).toEqual([
      {
        path: '/f.bin',
        warning:
          'changed while being read, twice: stored as read the second time (/data/f.bin was modified after it was opened)',
      },
    ]);
    const { entry, bytes } = await contentOf(repo, res.header.root, '/f.bin');
    expect(entry.error).toBeUndefined();
    expect(entry.size).toBe(second.length);
    // Every byte of the second read, including the tail the chunker held when the stream failed.
    expect(bytes.equals(second)).toBe(true);
    expect((await contentOf(repo, res.header.root, '/ok')).bytes.toString()).toBe('fine');
  });

  it('a second read that fails otherwise is an entry error', async () => {
    const { source, opens } = sourceOf((n) =>
      n === 1
        ? content(SCANNED.subarray(0, 100_000), changed('grew while being read'))
        : content(new Uint8Array(0), new ConnectorError('permission', 'EACCES: /data/f.bin', { op: 'open' })),
    );
    const repo = new MemoryRepository();
    const res = await backup(repo, source);
    expect(opens()).toBe(2);
    expect(res.warnings).toEqual([]);
    expect(res.errors).toEqual([{ path: '/f.bin', error: 'EACCES: /data/f.bin' }]);
    expect((await new TreeReader(repo, res.header.root).get('/f.bin', 'file'))?.chunks).toEqual([]);
  });

  it('any other failure of the read (corrupt: a failed checksum) is an error, without a second read', async () => {
    const { source, opens } = sourceOf(() =>
      content(SCANNED.subarray(0, 100_000), new ConnectorError('corrupt', 'MD5 mismatch of f.bin')),
    );
    const repo = new MemoryRepository();
    const res = await backup(repo, source);
    expect(opens()).toBe(1);
    expect(res.warnings).toEqual([]);
    expect(res.errors).toEqual([{ path: '/f.bin', error: 'MD5 mismatch of f.bin' }]);
  });
});
