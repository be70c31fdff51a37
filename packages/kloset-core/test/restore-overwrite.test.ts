/** restore's overwrite modes and dry run, into a destination that already holds some entries. */
import type { Destination, EntryAttributes } from '@kloset/connector-contract';
import { MemoryDestination, type MemoryEntry, MemorySource } from '@kloset/connector-contract/testing';
import { describe, expect, it, vi } from 'vitest';
import { backup } from '../src/backup/backup.ts';
import { toHex } from '../src/encoding/bytes.ts';
import { BlobKind } from '../src/repository/blob-store.ts';
import { restore } from '../src/restore/restore.ts';
import type { OverwriteMode } from '../src/restore/restore-options.ts';
import type { SnapshotEntry } from '../src/snapshot/entry.ts';
import { TreeReader } from '../src/snapshot/tree-reader.ts';
import { pseudoRandom } from './repository-helpers.ts';
import { collect, MemoryRepository } from './snapshot-fixtures.ts';

const same = pseudoRandom(1, 300_000);
const sameSize = pseudoRandom(2, 200_000);
const flipped = sameSize.slice();
flipped[150_000] = flipped[150_000]! ^ 1;
const otherSize = pseudoRandom(3, 50_000);
const absent = pseudoRandom(4, 70_000);

const tree: MemoryEntry[] = [
  { path: '/', type: 'directory' },
  { path: '/d', type: 'directory' },
  { path: '/d/same.bin', type: 'file', bytes: same },
  { path: '/d/same-size.bin', type: 'file', bytes: sameSize },
  { path: '/d/other-size.bin', type: 'file', bytes: otherSize },
  { path: '/d/absent.bin', type: 'file', bytes: absent },
  { path: '/d/empty.txt', type: 'file', bytes: new Uint8Array(0) },
  { path: '/d/link', type: 'symlink', linkTarget: 'same.bin' },
  { path: '/d/link2', type: 'symlink', linkTarget: 'same-size.bin' },
];

/** What the destination holds before the restore: some entries identical, some different, one absent. */
const before: [string, Partial<EntryAttributes>, Uint8Array?][] = [
  ['/', { type: 'directory' }],
  ['/d', { type: 'directory' }],
  ['/d/same.bin', { type: 'file' }, same],
  ['/d/same-size.bin', { type: 'file' }, flipped],
  ['/d/other-size.bin', { type: 'file' }, otherSize.subarray(1)],
  ['/d/empty.txt', { type: 'file' }, new Uint8Array(0)],
  ['/d/link', { type: 'symlink', linkTarget: 'same.bin' }],
  ['/d/link2', { type: 'symlink', linkTarget: 'elsewhere' }],
];

function filledDestination(): MemoryDestination {
  const d = new MemoryDestination({ concurrency: 3 });
  for (const [path, attrs, bytes] of before) {
    const attributes: EntryAttributes = {
      path,
      size: bytes?.length ?? 0,
      mtime: { sec: 1, nsec: 0 },
      metadata: {},
      type: 'file',
      ...attrs,
    };
    d.entries.set(path, bytes === undefined ? { attributes } : { attributes, bytes });
  }
  return d;
}

async function snapshot() {
  const repo = new MemoryRepository({ coalesced: false });
  const res = await backup(repo, new MemorySource(tree));
  const entries = await collect(new TreeReader(repo, res.header.root).entries());
  return { repo, header: res.header, entries };
}

/** Hex ids of the chunks of `path`. */
function chunksOf(entries: readonly SnapshotEntry[], path: string): string[] {
  return entries.find((e) => e.path === path)!.chunks.map((c) => toHex(c.id));
}

async function run(mode: OverwriteMode, dryRun = false) {
  const { repo, header, entries } = await snapshot();
  const reads = vi.spyOn(repo, 'getBlob');
  const dest = filledDestination();
  const skipped = new Map<string, string>();
  const out = await restore(repo, header, dest, {
    overwrite: mode,
    dryRun,
    onEntry: (r) => {
      if (r.skipped !== undefined) skipped.set(r.path, r.skipped);
    },
  });
  const chunkReads = reads.mock.calls.filter(([kind]) => kind === BlobKind.Chunk).map(([, id]) => toHex(id));
  const bytes = (p: string) => Buffer.from(dest.entries.get(p)?.bytes ?? new Uint8Array(0));
  return { out, dest, skipped, chunkReads, entries, bytes };
}

describe('restore -overwrite', () => {
  it('always (the default) writes every entry and does not look at what is there', async () => {
    const { out, dest, bytes } = await run('always');
    expect(out.summary).toMatchObject({
      entries: 9,
      failed: 0,
      skipped: 0,
      replaced: undefined,
      dryRun: false,
    });
    expect(dest.readExistingCalls).toBe(0);
    expect(bytes('/d/same-size.bin').equals(sameSize)).toBe(true);
    expect(bytes('/d/other-size.bin').equals(otherSize)).toBe(true);
    expect(dest.entries.get('/d/link2')?.attributes.linkTarget).toBe('same-size.bin');
  });

  it('if-changed skips what holds the same content, without reading it from the store', async () => {
    const { out, dest, skipped, chunkReads, entries, bytes } = await run('if-changed');
    expect(Object.fromEntries(skipped)).toEqual({
      '/d/same.bin': 'identical',
      '/d/empty.txt': 'identical',
      '/d/link': 'identical',
    });
    expect(out.summary).toMatchObject({
      entries: 6,
      files: 3,
      failed: 0,
      skipped: 3,
      skippedIdentical: 3,
      skippedExisting: 0,
      replaced: 3,
      bytes: sameSize.length + otherSize.length + absent.length,
    });
    expect(bytes('/d/same-size.bin').equals(sameSize), 'a one-bit difference is rewritten').toBe(true);
    expect(bytes('/d/other-size.bin').equals(otherSize)).toBe(true);
    expect(bytes('/d/absent.bin').equals(absent)).toBe(true);
    expect(dest.entries.get('/d/link2')?.attributes.linkTarget).toBe('same-size.bin');
    expect(dest.readExistingCalls, 'existing bytes compared').toBeGreaterThan(0);
    const sameChunks = chunksOf(entries, '/d/same.bin');
    expect(sameChunks.length).toBeGreaterThan(1);
    expect(
      chunkReads.filter((id) => sameChunks.includes(id)),
      'chunks of the skipped file read',
    ).toEqual([]);
    expect(chunkReads.length, 'chunks read for the rewritten files').toBeGreaterThan(0);
  });

  it('never replaces nothing that exists and writes what is absent', async () => {
    const { out, skipped, bytes, dest } = await run('never');
    expect([...skipped.values()].every((r) => r === 'exists')).toBe(true);
    expect([...skipped.keys()].sort()).toEqual(
      ['/d/empty.txt', '/d/link', '/d/link2', '/d/other-size.bin', '/d/same-size.bin', '/d/same.bin'].sort(),
    );
    expect(out.summary).toMatchObject({ entries: 3, skipped: 6, skippedExisting: 6, replaced: 0, failed: 0 });
    expect(bytes('/d/same-size.bin').equals(flipped)).toBe(true);
    expect(bytes('/d/other-size.bin').equals(otherSize.subarray(1))).toBe(true);
    expect(bytes('/d/absent.bin').equals(absent)).toBe(true);
    expect(dest.entries.get('/d/link2')?.attributes.linkTarget).toBe('elsewhere');
  });

  it('never: an entry that appears between the look and the write is not replaced (createOnly)', async () => {
    const { repo, header } = await snapshot();
    class Racing extends MemoryDestination {
      override async stat() {
        return undefined; // looks empty, but the write finds the entries there
      }
    }
    const dest = new Racing({ concurrency: 2 });
    const original = filledDestination();
    for (const [k, v] of original.entries) dest.entries.set(k, v);
    const out = await restore(repo, header, dest, { overwrite: 'never' });
    expect(out.summary).toMatchObject({ skipped: 6, skippedExisting: 6, failed: 0 });
    expect(Buffer.from(dest.entries.get('/d/same-size.bin')!.bytes!).equals(flipped)).toBe(true);
  });

  for (const mode of ['always', 'if-changed', 'never'] as const) {
    it(`dry run with ${mode}: counts what would be done, writes nothing, reads no content`, async () => {
      const wet = await run(mode);
      const { out, dest, chunkReads, bytes } = await run(mode, true);
      expect(dest.writeCalls, 'writes').toBe(0);
      expect(dest.finished, 'finish called').toBe(false);
      expect(chunkReads, 'chunks read from the store').toEqual([]);
      expect(out.summary).toEqual({ ...wet.out.summary, dryRun: true });
      expect(bytes('/d/same-size.bin').equals(flipped)).toBe(true);
      expect(dest.entries.has('/d/absent.bin')).toBe(false);
    });
  }

  it('if-changed or never into a destination that cannot tell what it holds fails before writing', async () => {
    const { repo, header } = await snapshot();
    const dest = new MemoryDestination();
    const blind: Destination = {
      location: 'memory://blind',
      concurrency: 1,
      write: (e, c) => dest.write(e, c),
      finish: () => dest.finish(),
      close: () => dest.close(),
    };
    await expect(restore(repo, header, blind, { overwrite: 'if-changed' })).rejects.toThrow(
      /memory:\/\/blind cannot tell what it already holds: overwrite mode if-changed needs it/,
    );
    expect(dest.writeCalls).toBe(0);
  });
});
