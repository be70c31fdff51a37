/**
 * restore with `allVersions` (src/restore/all-versions.ts, docs/FORMAT.md §8.4): every version of
 * every key written oldest first at the key's path, delete markers as removes, the versions of one
 * key never two at once while different keys go concurrently, a folder and a key as path, the
 * plain tree's `meta`, versions of the same millisecond, refusals, a dry run, a key with 10,000
 * versions.
 */
import type { MemoryEntry } from '@kloset/connector-contract/testing';
import { MemoryDestination, MemorySource } from '@kloset/connector-contract/testing';
import { describe, expect, it } from 'vitest';
import { backup } from '../src/backup/backup.ts';
import { restore } from '../src/restore/restore.ts';
import type { RestoreOptions } from '../src/restore/restore-options.ts';
import { MemoryRepository } from './snapshot-fixtures.ts';
import { dir, ROOT, version, versionsTree } from './versions-tree-fixtures.ts';

const tree: MemoryEntry[] = [
  { path: '/d', type: 'directory' },
  { path: '/d/x', type: 'file', bytes: Buffer.from('x3') },
  dir(ROOT),
  dir(`${ROOT}/%a%`),
  version(`${ROOT}/%a%`, 1000, 'a1', 'a one'),
  version(`${ROOT}/%a%`, 3000, 'a2', 'a two'),
  version(`${ROOT}/%a%`, 5000, 'a3', undefined, true),
  dir(`${ROOT}/d`),
  dir(`${ROOT}/d/%x%`),
  version(`${ROOT}/d/%x%`, 2000, 'x1', 'x1'),
  version(`${ROOT}/d/%x%`, 2500, 'x2'),
  version(`${ROOT}/d/%x%`, 2600, 'x3', 'x3', true),
  dir(`${ROOT}/d/e`),
  dir(`${ROOT}/d/e/%y%`),
  version(`${ROOT}/d/e/%y%`, 4000, 'y1', 'y one', true),
  dir(`${ROOT}/%t%`),
  version(`${ROOT}/%t%`, 8000, 't1', 'file t', true),
  dir(`${ROOT}/t`),
  dir(`${ROOT}/t/%u%`),
  version(`${ROOT}/t/%u%`, 8000, 'u1', 'under t', true),
];

/** What a history says: each write's body, `-` for a remove. */
function bodies(dest: MemoryDestination): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [p, list] of dest.history) {
    out[p] = list.map((w) => (w === undefined ? '-' : Buffer.from(w.bytes ?? []).toString()));
  }
  return out;
}

/** A latency per path that makes writes of different keys overlap. */
const latency = (path: string): number => (path.length % 3) + 1;

async function restoredAll(entries: MemoryEntry[], options: RestoreOptions = {}, dest?: MemoryDestination) {
  const repo = new MemoryRepository();
  const { header } = await backup(repo, new MemorySource(entries));
  const d = dest ?? new MemoryDestination({ versioned: true, latencyMs: latency });
  const res = await restore(repo, header, d, { allVersions: versionsTree, ...options });
  return { dest: d, res };
}

describe('restore of every version', () => {
  it("writes each key's versions oldest first at its path, delete markers as removes", async () => {
    const { dest, res } = await restoredAll(tree);
    expect(dest.violations).toEqual([]);
    expect(res.summary.failed).toBe(0);
    expect(bodies(dest)).toEqual({
      '/a': ['a one', 'a two', '-'],
      '/d/x': ['x1', '-', 'x3'],
      '/d/e/y': ['y one'],
      // A key that is also a folder: its twin name, as in the plain tree.
      '/%t%': ['file t'],
      '/t/u': ['under t'],
    });
    // The folders above the keys, each once.
    expect([...dest.entries].filter(([, e]) => e.attributes.type === 'directory').map(([p]) => p)).toEqual([
      '/',
      '/d',
      '/d/e',
      '/t',
    ]);
    expect(res.summary).toMatchObject({
      versions: 7,
      deleteMarkers: 2,
      directories: 4,
      files: 7,
      entries: 13,
    });
  });

  it("writes the plain tree's meta of each version", async () => {
    const { dest } = await restoredAll(tree);
    expect(dest.history.get('/a')!.map((w) => w?.attributes.metadata)).toEqual([
      { 's3.version-id': 'a1', 's3.meta.rev': 'a1' },
      { 's3.version-id': 'a2', 's3.meta.rev': 'a2' },
      undefined,
    ]);
  });

  it('restores a folder as the root, or one key as /<name>', async () => {
    const folder = await restoredAll(tree, { path: '/d' });
    expect(folder.dest.violations).toEqual([]);
    expect(bodies(folder.dest)).toEqual({ '/x': ['x1', '-', 'x3'], '/e/y': ['y one'] });
    const key = await restoredAll(tree, { path: '/a' });
    expect(bodies(key.dest)).toEqual({ '/a': ['a one', 'a two', '-'] });
    expect([...key.dest.entries.keys()]).toEqual(['/']);
    const twin = await restoredAll(tree, { path: '/t' });
    expect(bodies(twin.dest)).toEqual({ '/u': ['under t'] });
    await expect(restoredAll(tree, { path: '/nothing' })).rejects.toThrow('/nothing has no versions');
  });

  it('writes the version listed as the latest last among versions of the same millisecond', async () => {
    // Ids sort z1 < z2 by name but z1 is the latest: written last.
    const same = [
      dir(ROOT),
      dir(`${ROOT}/%z%`),
      version(`${ROOT}/%z%`, 1000, 'z0', 'zero'),
      version(`${ROOT}/%z%`, 2000, 'z1', 'one', true),
      version(`${ROOT}/%z%`, 2000, 'z2', 'two'),
    ];
    expect(bodies((await restoredAll(same)).dest)).toEqual({ '/z': ['zero', 'two', 'one'] });
  });

  it('refuses a destination that keeps no versions, and an overwrite mode other than always', async () => {
    const plain = new MemoryDestination();
    await expect(restoredAll(tree, {}, plain)).rejects.toThrow(
      'memory://destination has no versioning enabled: restoring every version needs a versioned bucket',
    );
    expect(plain.writeCalls).toBe(0);
    const versioned = new MemoryDestination({ versioned: true });
    await expect(restoredAll(tree, { overwrite: 'if-changed' }, versioned)).rejects.toThrow(
      'overwrite mode if-changed does not apply',
    );
    expect(versioned.writeCalls).toBe(0);
  });

  it('a dry run counts the versions and delete markers and writes nothing', async () => {
    const { dest, res } = await restoredAll(tree, { dryRun: true });
    expect(dest.writeCalls).toBe(0);
    expect(res.summary).toMatchObject({ versions: 7, deleteMarkers: 2, dryRun: true });
  });

  it('a key with 10,000 versions, oldest first, next to keys written concurrently', async () => {
    const many: MemoryEntry[] = [dir(ROOT), dir(`${ROOT}/%k%`)];
    const expected: string[] = [];
    for (let i = 1; i <= 10_000; i++) {
      const marker = i % 7 === 0;
      many.push(version(`${ROOT}/%k%`, i * 10, `v${i}`, marker ? undefined : `k${i}`, i === 10_000));
      expected.push(marker ? '-' : `k${i}`);
    }
    for (let i = 0; i < 40; i++) {
      many.push(dir(`${ROOT}/%l${i}%`), version(`${ROOT}/%l${i}%`, 1000, `l${i}`, `l${i}`, true));
    }
    // No latency for the key of many versions (written one after the other anyway), some for the others.
    const dest = new MemoryDestination({
      versioned: true,
      concurrency: 8,
      latencyMs: (p) => (p === '/k' ? 0 : 2),
    });
    const { res } = await restoredAll(many, {}, dest);
    expect(dest.violations).toEqual([]);
    expect(bodies(dest)['/k']).toEqual(expected);
    expect(res.summary).toMatchObject({ versions: 10_000 - 1428 + 40, deleteMarkers: 1428, failed: 0 });
    // Different keys were written at the same time.
    expect(dest.maxInFlight).toBeGreaterThan(1);
  }, 60_000);
});
