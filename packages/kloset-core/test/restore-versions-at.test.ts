/**
 * restore with `versionsAt` (src/restore/versions-at.ts, docs/FORMAT.md §8.4): a snapshot holding a
 * versions tree restored at several instants, a folder and a key as path, directories written
 * only above a chosen version and each once, the plain tree's `meta` on what is written.
 */
import type { MemoryEntry } from '@kloset/connector-contract/testing';
import { MemoryDestination, MemorySource } from '@kloset/connector-contract/testing';
import { describe, expect, it } from 'vitest';
import { backup } from '../src/backup/backup.ts';
import { restore } from '../src/restore/restore.ts';
import type { VersionsAt } from '../src/restore/restore-options.ts';
import { planVersionsAt } from '../src/restore/versions-at.ts';
import { TreeReader } from '../src/snapshot/tree-reader.ts';
import { MemoryRepository } from './snapshot-fixtures.ts';
import { dir, ROOT, version, versionsTree } from './versions-tree-fixtures.ts';

const tree: MemoryEntry[] = [
  { path: '/d', type: 'directory' },
  { path: '/d/x', type: 'file', bytes: Buffer.from('x1') },
  dir(ROOT),
  dir(`${ROOT}/%a%`),
  version(`${ROOT}/%a%`, 1000, 'a1', 'a one'),
  version(`${ROOT}/%a%`, 3000, 'a2', 'a two'),
  version(`${ROOT}/%a%`, 5000, 'a3'),
  dir(`${ROOT}/d`),
  dir(`${ROOT}/d/%x%`),
  version(`${ROOT}/d/%x%`, 2000, 'x1', 'x1'),
  dir(`${ROOT}/d/e`),
  dir(`${ROOT}/d/e/%y%`),
  version(`${ROOT}/d/e/%y%`, 4000, 'y1', 'y one'),
  version(`${ROOT}/d/e/%y%`, 6000, 'y2'),
  version(`${ROOT}/d/e/%y%`, 7000, 'y3', 'y three'),
  dir(`${ROOT}/d/e/%y%25%`),
  version(`${ROOT}/d/e/%y%25%`, 4000, 'p1', 'percent'),
  dir(`${ROOT}/%t%`),
  version(`${ROOT}/%t%`, 8000, 't1', 'file t'),
  dir(`${ROOT}/t`),
  dir(`${ROOT}/t/%u%`),
  version(`${ROOT}/t/%u%`, 8000, 'u1', 'under t'),
  dir(`${ROOT}/later`),
  dir(`${ROOT}/later/%z%`),
  version(`${ROOT}/later/%z%`, 9000, 'z1', 'z'),
];

const at = (time: number): VersionsAt => ({ ...versionsTree, time });

async function restoredAt(time: number, path = '/') {
  const repo = new MemoryRepository();
  const { header } = await backup(repo, new MemorySource(tree));
  const dest = new MemoryDestination();
  const res = await restore(repo, header, dest, { path, versionsAt: at(time) });
  expect(dest.violations).toEqual([]);
  expect(res.summary.failed).toBe(0);
  const files: Record<string, string> = {};
  for (const [p, e] of dest.entries) {
    files[p] = e.attributes.type === 'directory' ? 'dir' : Buffer.from(e.bytes ?? []).toString();
  }
  return { files, dest, res };
}

describe('restore at an instant from a versions tree', () => {
  it('writes nothing but the root before the first version', async () => {
    expect((await restoredAt(500)).files).toEqual({ '/': 'dir' });
  });

  it("writes each key's newest version at or before the instant, at the key's path", async () => {
    expect((await restoredAt(3000)).files).toEqual({ '/': 'dir', '/a': 'a two', '/d': 'dir', '/d/x': 'x1' });
    expect((await restoredAt(4500)).files).toEqual({
      '/': 'dir',
      '/a': 'a two',
      '/d': 'dir',
      '/d/x': 'x1',
      '/d/e': 'dir',
      '/d/e/y': 'y one',
      '/d/e/y%': 'percent',
    });
    // a and y deleted: no /a, /d/e is written for y% only.
    expect((await restoredAt(6500)).files).toEqual({
      '/': 'dir',
      '/d': 'dir',
      '/d/x': 'x1',
      '/d/e': 'dir',
      '/d/e/y%': 'percent',
    });
    const late = await restoredAt(10_000);
    expect(late.files).toEqual({
      '/': 'dir',
      '/d': 'dir',
      '/d/x': 'x1',
      '/d/e': 'dir',
      '/d/e/y': 'y three',
      '/d/e/y%': 'percent',
      '/later': 'dir',
      '/later/z': 'z',
      // A key that is also a folder: the file takes its twin name, as in the plain tree.
      '/%t%': 'file t',
      '/t': 'dir',
      '/t/u': 'under t',
    });
    expect(late.res.summary).toMatchObject({
      directories: 5,
      files: 6,
      bytes: 'x1y threepercentzfile tunder t'.length,
    });
  });

  it("writes the plain tree's meta: the version's own, without is-latest and last-modified", async () => {
    const { dest } = await restoredAt(3500);
    expect(dest.entries.get('/a')!.attributes.metadata).toEqual({
      's3.version-id': 'a2',
      's3.meta.rev': 'a2',
    });
  });

  it('restores a folder as the root, or one key as /<name>', async () => {
    expect((await restoredAt(7500, '/d')).files).toEqual({
      '/': 'dir',
      '/x': 'x1',
      '/e': 'dir',
      '/e/y': 'y three',
      '/e/y%': 'percent',
    });
    expect((await restoredAt(1500, '/a')).files).toEqual({ '/': 'dir', '/a': 'a one' });
    expect((await restoredAt(5500, '/a')).files).toEqual({ '/': 'dir' });
    await expect(restoredAt(5500, '/nothing')).rejects.toThrow('/nothing has no versions');
  });

  it("leaves a key's directory once its version is chosen: its older versions are not read", async () => {
    const many: MemoryEntry[] = [dir(ROOT), dir(`${ROOT}/%k%`)];
    for (let i = 1; i <= 5000; i++) many.push(version(`${ROOT}/%k%`, i * 1000, `v${i}`, `k${i}`));
    many.push(dir(`${ROOT}/%l%`), version(`${ROOT}/%l%`, 1000, 'l1', 'l'));
    const repo = new MemoryRepository();
    const { header } = await backup(repo, new MemorySource(many));
    const scan = async (time: number) => {
      const reader = new TreeReader(repo, header.root);
      const out: string[] = [];
      for await (const p of planVersionsAt(reader, '/', at(time), 'test')) out.push(p.target);
      return { out, loads: reader.nodeLoads };
    };
    const newest = await scan(10_000_000);
    expect(newest.out).toEqual(['/', '/k', '/l']);
    const all = new TreeReader(repo, header.root);
    let entries = 0;
    for await (const _ of all.subtree(ROOT)) entries++;
    expect(entries).toBe(5003);
    expect(newest.loads * 4).toBeLessThan(all.nodeLoads);
    // The oldest version: the whole directory is read, newest first, up to it.
    expect((await scan(1000)).out).toEqual(['/', '/k', '/l']);
  });
});
