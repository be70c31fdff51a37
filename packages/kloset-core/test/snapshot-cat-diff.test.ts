import { deterministicBytes, type MemoryEntry, MemorySource } from '@kloset/connector-contract/testing';
import { describe, expect, it } from 'vitest';
import { backup } from '../src/backup/backup.ts';
import { BlobKind } from '../src/repository/blob-store.ts';
import { MissingBlobError } from '../src/repository/errors.ts';
import { type DiffChange, diffSnapshots } from '../src/snapshot/diff.ts';
import type { SnapshotHeader } from '../src/snapshot/header.ts';
import { SnapshotPathNotFoundError } from '../src/snapshot/list-path.ts';
import { FileContentError, readFile } from '../src/snapshot/read-file.ts';
import { TreeReader } from '../src/snapshot/tree-reader.ts';
import { collect, MemoryRepository } from './snapshot-fixtures.ts';

const big = deterministicBytes(7, 200_000);

const before: MemoryEntry[] = [
  { path: '/etc', type: 'directory', mode: 0o755 },
  { path: '/etc/hosts', type: 'file', bytes: Buffer.from('127.0.0.1 localhost\n') },
  { path: '/etc/big.bin', type: 'file', bytes: big },
  { path: '/etc/gone', type: 'file', bytes: Buffer.from('bye') },
  { path: '/etc/mode', type: 'file', bytes: Buffer.from('m'), mode: 0o600 },
  { path: '/etc/meta', type: 'file', bytes: Buffer.from('x'), metadata: { 'content-type': 'text/plain' } },
  { path: '/etc/link', type: 'symlink', linkTarget: 'hosts' },
  { path: '/etc/dir', type: 'directory' },
  { path: '/etc/dir/a', type: 'file', bytes: Buffer.from('a') },
  { path: '/var/x', type: 'file', bytes: Buffer.from('x') },
  { path: '/var/failed', type: 'file', error: 'permission denied' },
];

const changedBig = Buffer.from(big);
changedBig[150_000] = changedBig[150_000]! ^ 1;

const after: MemoryEntry[] = [
  { path: '/etc', type: 'directory', mode: 0o755 },
  { path: '/etc/hosts', type: 'file', bytes: Buffer.from('127.0.0.1 localhost\n') },
  { path: '/etc/big.bin', type: 'file', bytes: changedBig },
  { path: '/etc/new', type: 'file', bytes: Buffer.from('hi') },
  { path: '/etc/mode', type: 'file', bytes: Buffer.from('m'), mode: 0o644 },
  { path: '/etc/meta', type: 'file', bytes: Buffer.from('x'), metadata: { 'content-type': 'text/html' } },
  { path: '/etc/link', type: 'symlink', linkTarget: 'big.bin' },
  // /etc/dir becomes a file: one removal, one addition, and its child goes.
  { path: '/etc/dir', type: 'file', bytes: Buffer.from('now a file'), mtime: { sec: 5, nsec: 1 } },
  { path: '/var/x', type: 'file', bytes: Buffer.from('x') },
  { path: '/var/failed', type: 'file', error: 'permission denied' },
];

async function snap(repo: MemoryRepository, entries: MemoryEntry[]): Promise<SnapshotHeader> {
  return (await backup(repo, new MemorySource(entries), { parent: null })).header;
}

function summary(changes: DiffChange[]): string[] {
  return changes.map((c) =>
    c.change === 'changed'
      ? `~ ${c.path} ${c.fields.join(',')}`
      : `${c.change === 'added' ? '+' : '-'} ${c.path} ${c.change === 'added' ? c.after.type : c.before.type}`,
  );
}

describe('readFile (cat)', () => {
  it('yields the exact content of small and large files', async () => {
    const repo = new MemoryRepository();
    const h = await snap(repo, before);
    expect(Buffer.concat(await collect(readFile(repo, h, '/etc/hosts'))).toString()).toBe(
      '127.0.0.1 localhost\n',
    );
    const streamed = await collect(
      readFile(repo, h, '/etc/big.bin', { bufferBytes: 10, windowBytes: 16_384 }),
    );
    expect(streamed.length).toBeGreaterThan(1);
    expect(Buffer.concat(streamed).equals(Buffer.from(big))).toBe(true);
    expect(await collect(readFile(repo, h, '/etc/gone'))).toHaveLength(1);
  });

  it('refuses what is not a file, names what is missing', async () => {
    const repo = new MemoryRepository();
    const h = await snap(repo, before);
    await expect(collect(readFile(repo, h, '/etc'))).rejects.toThrow(
      /\/etc in snapshot \w{8} is a directory, not a file/,
    );
    await expect(collect(readFile(repo, h, '/etc/link'))).rejects.toThrow(/is a symlink \(to "hosts"\)/);
    await expect(collect(readFile(repo, h, '/nope'))).rejects.toThrow(SnapshotPathNotFoundError);
    await expect(collect(readFile(repo, h, '/var/failed'))).rejects.toThrow(
      /has no content: permission denied/,
    );
  });

  it('a corrupt chunk of a buffered file yields nothing at all', async () => {
    const repo = new MemoryRepository();
    const h = await snap(repo, before);
    const entry = (await new TreeReader(repo, h.root).get('/etc/big.bin', 'file'))!;
    repo.corrupt(BlobKind.Chunk, entry.chunks.at(-1)!.id);
    const got: Uint8Array[] = [];
    const err = await (async () => {
      try {
        for await (const part of readFile(repo, h, '/etc/big.bin')) got.push(part);
      } catch (e) {
        return e;
      }
    })();
    expect(got).toEqual([]);
    expect(err).toBeInstanceOf(FileContentError);
    expect((err as FileContentError).failure).toBe('corrupt');
    expect((err as Error).message).toMatch(/^cannot read \/etc\/big\.bin in snapshot \w{8}: .*corrupt/);
  });

  it('a corrupt chunk late in a streamed file stops it after a verified prefix', async () => {
    const repo = new MemoryRepository();
    const h = await snap(repo, before);
    const entry = (await new TreeReader(repo, h.root).get('/etc/big.bin', 'file'))!;
    expect(entry.chunks.length).toBeGreaterThan(3);
    repo.corrupt(BlobKind.Chunk, entry.chunks.at(-1)!.id);
    let bytes = 0;
    await expect(
      (async () => {
        for await (const part of readFile(repo, h, '/etc/big.bin', { bufferBytes: 0, windowBytes: 8192 })) {
          bytes += part.length;
        }
      })(),
    ).rejects.toThrow(FileContentError);
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThan(big.length);
  });

  it('a missing chunk is reported as missing', async () => {
    const repo = new MemoryRepository();
    const h = await snap(repo, before);
    const entry = (await new TreeReader(repo, h.root).get('/etc/hosts', 'file'))!;
    repo.remove(BlobKind.Chunk, entry.chunks[0]!.id);
    const getBlob = repo.getBlob.bind(repo);
    repo.getBlob = async (kind, id) => {
      if (kind === BlobKind.Chunk) throw new MissingBlobError(id, 'not in the index');
      return getBlob(kind, id);
    };
    const err = await collect(readFile(repo, h, '/etc/hosts')).catch((e: unknown) => e);
    expect((err as FileContentError).failure).toBe('missing');
  });
});

describe('diffSnapshots', () => {
  it('lists added, removed and changed entries with what changed, in key order', async () => {
    const repo = new MemoryRepository();
    const a = await snap(repo, before);
    const b = await snap(repo, after);
    const changes = await collect(diffSnapshots(repo, { header: a, path: '/' }, { header: b, path: '/' }));
    expect(summary(changes)).toEqual([
      '~ /etc/big.bin content',
      '+ /etc/dir file',
      '- /etc/dir directory',
      '- /etc/gone file',
      '~ /etc/link link',
      '~ /etc/meta metadata',
      '~ /etc/mode mode',
      '+ /etc/new file',
      '- /etc/dir/a file',
    ]);
    // Unchanged entries give nothing; a snapshot against itself gives nothing.
    expect(await collect(diffSnapshots(repo, { header: a, path: '/' }, { header: a, path: '/' }))).toEqual(
      [],
    );
  });

  it('compares paths: a directory of each, a file of each, another directory', async () => {
    const repo = new MemoryRepository();
    const a = await snap(repo, before);
    const b = await snap(repo, after);
    expect(
      summary(
        await collect(diffSnapshots(repo, { header: a, path: '/etc/dir' }, { header: b, path: '/etc/dir' })),
      ),
    ).toEqual(['+ /etc/dir file', '- /etc/dir directory', '- /etc/dir/a file']);
    expect(
      summary(
        await collect(
          diffSnapshots(repo, { header: a, path: '/etc/mode' }, { header: b, path: '/etc/mode' }),
        ),
      ),
    ).toEqual(['~ /etc/mode mode']);
    // /var of a against /etc of b: relative paths are matched, each reported on its own side.
    const cross = summary(
      await collect(diffSnapshots(repo, { header: a, path: '/var' }, { header: b, path: '/etc' })),
    );
    expect(cross).toContain('- /var/x file');
    expect(cross).toContain('+ /etc/hosts file');
    expect(cross.some((l) => l.startsWith('~ /etc '))).toBe(false); // same mode and mtime (defaults)
  });

  it('a path missing on one side is all added; on both sides an error', async () => {
    const repo = new MemoryRepository();
    const a = await snap(repo, before);
    const b = await snap(repo, after);
    expect(
      summary(
        await collect(diffSnapshots(repo, { header: a, path: '/etc/new' }, { header: b, path: '/etc/new' })),
      ),
    ).toEqual(['+ /etc/new file']);
    await expect(
      collect(diffSnapshots(repo, { header: a, path: '/nope' }, { header: b, path: '/nope' })),
    ).rejects.toThrow(/\/nope not found in snapshot \w{8} nor in snapshot \w{8}/);
  });

  it('a multi-level tree diffs across leaves: one change among 3,000 entries', async () => {
    const repo = new MemoryRepository();
    const many = Array.from(
      { length: 3000 },
      (_, i): MemoryEntry => ({
        path: `/d/f${String(i).padStart(5, '0')}`,
        type: 'file',
        bytes: Buffer.from(String(i)),
      }),
    );
    const a = (await backup(repo, new MemorySource(many), { tree: { maxNodeEntries: 10 } })).header;
    const changed = many.map((e, i) => (i === 2999 ? { ...e, bytes: Buffer.from('changed') } : e));
    const b = (await backup(repo, new MemorySource(changed), { parent: null, tree: { maxNodeEntries: 10 } }))
      .header;
    const changes = await collect(diffSnapshots(repo, { header: a, path: '/' }, { header: b, path: '/' }));
    expect(summary(changes)).toEqual(['~ /d/f02999 content']);
  });
});
