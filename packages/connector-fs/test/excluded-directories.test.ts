/**
 * ScanContext.excludedDirectories (`backup -exclude`): the walk, in the worker or on this thread,
 * yields a matching directory but does not list what is under it (not even opening it).
 */
import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SourceRecord } from '@kloset/connector-contract';
import { FsSource } from '@kloset/connector-fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { removeNativeTree } from './native-tree.ts';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'kloset-fs-excluded-'));
  for (const dir of ['keep', 'skip/sub', 'x', 'deep/er/skip'])
    await mkdir(join(root, dir), { recursive: true });
  for (const file of ['keep/a', 'skip/b', 'skip/sub/c', 'x/skip', 'deep/er/skip/d', 'deep/er/e']) {
    await writeFile(join(root, file), file);
  }
  // Not even opened: a directory nobody may list is yielded without an error.
  await chmod(join(root, 'skip'), 0);
});
afterEach(async () => {
  await chmod(join(root, 'skip'), 0o755);
  await removeNativeTree(root);
});

async function scanned(worker: boolean, excludedDirectories?: string): Promise<Map<string, SourceRecord>> {
  const source = new FsSource(root, { worker });
  const out = new Map<string, SourceRecord>();
  for await (const r of source.scan(undefined, excludedDirectories ? { excludedDirectories } : {}))
    out.set(r.path, r);
  await source.close();
  return out;
}

describe.each([true, false])('FsSource with excludedDirectories (worker: %s)', (worker) => {
  it('yields a matching directory without listing it; a file of that name is yielded', async () => {
    const records = await scanned(worker, '^.*/skip$');
    expect([...records.keys()].sort()).toEqual(
      [
        '/',
        '/deep',
        '/deep/er',
        '/deep/er/e',
        '/deep/er/skip',
        '/keep',
        '/keep/a',
        '/skip',
        '/x',
        '/x/skip',
      ].sort(),
    );
    expect(records.get('/skip')).toMatchObject({ type: 'directory' });
    expect(records.get('/skip')?.error).toBeUndefined();
    expect(records.get('/x/skip')).toMatchObject({ type: 'file', size: 6 });
  });

  it('lists everything without it', async () => {
    const records = await scanned(worker);
    expect(records.has('/deep/er/skip/d')).toBe(true);
    expect(records.has('/keep/a')).toBe(true);
  });
});
