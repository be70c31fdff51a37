import { randomBytes } from 'node:crypto';
import { type MemoryEntry, MemorySource } from '@kloset/connector-contract/testing';
import { describe, expect, it } from 'vitest';
import { backup } from '../src/backup/backup.ts';
import { check } from '../src/check/check.ts';
import type { CheckProblem } from '../src/check/check-options.ts';
import { toHex } from '../src/encoding/bytes.ts';
import { BlobKind } from '../src/repository/blob-store.ts';
import { TreeReader } from '../src/snapshot/tree-reader.ts';
import { MemoryRepository } from './snapshot-fixtures.ts';

const shared = randomBytes(50_000);
const files: MemoryEntry[] = [
  { path: '/a/one.bin', type: 'file', bytes: shared },
  { path: '/b/copy.bin', type: 'file', bytes: shared },
  { path: '/c/other.bin', type: 'file', bytes: randomBytes(70_000) },
  { path: '/c/link', type: 'symlink', linkTarget: 'other.bin' },
];

async function setup(options: { coalesced?: boolean } = {}) {
  const repo = new MemoryRepository(options);
  const s1 = await backup(repo, new MemorySource(files), { tree: { maxNodeEntries: 3 } });
  const s2 = await backup(repo, new MemorySource(files.slice(0, 2)), {
    parent: null,
    tree: { maxNodeEntries: 3 },
  });
  return { repo, s1: s1.header, s2: s2.header };
}

describe('check', () => {
  it('passes on a healthy store, fast and full', async () => {
    const { repo } = await setup();
    const full = await check(repo);
    expect(full).toMatchObject({ ok: true, fast: false, snapshots: 2, problems: 0 });
    expect(full.entries).toBe(8 + 5);
    expect(full.bytes).toBe(50_000 + 70_000); // each distinct chunk once
    const fast = await check(repo, { fast: true });
    expect(fast).toMatchObject({ ok: true, fast: true, snapshots: 2, bytes: 0 });
    expect(repo.getBlobsCalls).toBeGreaterThan(0);
  });

  for (const coalesced of [true, false]) {
    it(`names every file and snapshot affected by a corrupt chunk (${coalesced ? 'coalesced' : 'single'} reads)`, async () => {
      const { repo, s1, s2 } = await setup({ coalesced });
      const e = await new TreeReader(repo, s1.root).get('/a/one.bin', 'file');
      const bad = e!.chunks[1]!.id;
      repo.corrupt(BlobKind.Chunk, bad);
      const seen: CheckProblem[] = [];
      const res = await check(repo, { onProblem: (p) => seen.push(p) });
      expect(res.ok).toBe(false);
      const affected = res.reports.map((p) => `${p.kind} ${p.snapshot} ${p.path} ${p.blob}`).sort();
      expect(affected).toEqual(
        [
          `corrupt-blob ${toHex(s1.id)} /a/one.bin ${toHex(bad)}`,
          `corrupt-blob ${toHex(s1.id)} /b/copy.bin ${toHex(bad)}`,
          `corrupt-blob ${toHex(s2.id)} /a/one.bin ${toHex(bad)}`,
          `corrupt-blob ${toHex(s2.id)} /b/copy.bin ${toHex(bad)}`,
        ].sort(),
      );
      expect(seen).toEqual(res.reports);
      expect(res.reports[0]!.message).toMatch(
        /in snapshot [0-9a-f]{8}: blob [0-9a-f]{64} in packfile [0-9a-f]{64} is corrupt/,
      );
      // existence only: the corrupt blob is still there
      expect((await check(repo, { fast: true })).ok).toBe(true);
    });
  }

  it('reports chunks missing from the index and lost packfiles, fast and full', async () => {
    const { repo, s1 } = await setup();
    const other = await new TreeReader(repo, s1.root).get('/c/other.bin', 'file');
    repo.remove(BlobKind.Chunk, other!.chunks[0]!.id);
    for (const fast of [true, false]) {
      const res = await check(repo, { fast });
      expect(res.reports.map((p) => [p.kind, p.path])).toEqual([['missing-blob', '/c/other.bin']]);
    }
    const one = await new TreeReader(repo, s1.root).get('/a/one.bin', 'file');
    const loc = repo.locateBlob(BlobKind.Chunk, one!.chunks[0]!.id)!;
    repo.lostPackfiles.add(toHex(loc.packfile));
    const fast = await check(repo, { fast: true });
    const lost = fast.reports.filter((p) => p.kind === 'missing-packfile');
    expect(lost.length).toBeGreaterThanOrEqual(4);
    expect(lost.every((p) => p.packfile === toHex(loc.packfile))).toBe(true);
    expect(new Set(lost.map((p) => p.path))).toContain('/b/copy.bin');
  });

  it('reports an unreadable tree node with the first path below it, and unreadable headers', async () => {
    const { repo, s1 } = await setup();
    const root = await new TreeReader(repo, s1.root).node(s1.root);
    expect(root.leaf).toBe(false);
    if (root.leaf) return;
    repo.corrupt(BlobKind.Tree, root.children[1]!);
    const res = await check(repo, { snapshots: [toHex(s1.id).slice(0, 6)] });
    expect(res.snapshots).toBe(1);
    const tree = res.reports.filter((p) => p.kind === 'unreadable-tree');
    expect(tree.length).toBe(1);
    expect(tree[0]!.path).toMatch(/^\//);
    expect(tree[0]!.message).toContain(`from ${tree[0]!.path} on are unknown`);
    // a header that no longer decodes
    const key = [...repo.resources.keys()].find((k) => k.startsWith('snapshot:'))!;
    repo.resources.set(key, Uint8Array.of(1, 2, 3));
    const all = await check(repo, { fast: true });
    expect(all.reports.some((p) => p.kind === 'unreadable-snapshot' && key.endsWith(p.snapshot!))).toBe(true);
  });

  it('spills blob references to disk with a tiny budget', async () => {
    const { repo } = await setup();
    const res = await check(repo, { sortMemoryBytes: 256, batchBlobs: 2 });
    expect(res.ok).toBe(true);
    expect(res.bytes).toBe(120_000);
  });
});
