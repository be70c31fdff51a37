// FsSource -> FsDestination without the engine: what is backed up is what is restored.
import { chmod, mkdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type SourceRecord, splitPath } from '@kloset/connector-contract';
import { deterministicBytes } from '@kloset/connector-contract/testing';
import { FsDestination, FsSource } from '@kloset/connector-fs';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { readTree, tempDir } from './helpers.ts';

let base: string;
let remove: () => Promise<void>;
beforeEach(async () => {
  ({ dir: base, remove } = await tempDir());
});
afterEach(() => remove());

it('a tree scanned by FsSource and written by FsDestination reads back identical', async () => {
  const src = join(base, 'src');
  await mkdir(join(src, 'a', 'b', 'c'), { recursive: true });
  await mkdir(join(src, 'empty'));
  await writeFile(join(src, 'a', 'big'), deterministicBytes(1, 3 * 1024 * 1024 + 1));
  await writeFile(join(src, 'a', 'b', 'c', 'ünïcödé'), 'x');
  await writeFile(join(src, 'tool'), '#!/bin/sh\n');
  await chmod(join(src, 'tool'), 0o750);
  await symlink('a/b', join(src, 'shortcut'));
  await utimes(join(src, 'a', 'big'), 1_234_567_890.5, 1_234_567_890.5);
  await chmod(join(src, 'a', 'b'), 0o700);

  const records: SourceRecord[] = [];
  for await (const r of new FsSource(src).scan()) records.push(r);
  // The engine sorts records; parents come before their children.
  records.sort((x, y) => splitPath(x.path).length - splitPath(y.path).length);
  const dst = join(base, 'dst');
  const destination = new FsDestination(dst);
  for (const r of records) {
    const result = await destination.write(r, r.type === 'file' ? await r.open() : undefined);
    expect(result, r.path).toEqual({ path: r.path, ok: true });
  }
  await destination.finish();
  await destination.close();

  const [before, after] = [await readTree(src), await readTree(dst)];
  expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
  for (const [path, entry] of before) {
    const got = after.get(path)!;
    expect({ ...got, mtime: undefined }, path).toEqual({ ...entry, mtime: undefined });
    const diff = (got.mtime!.sec - entry.mtime!.sec) * 1e9 + (got.mtime!.nsec - entry.mtime!.nsec);
    expect(Math.abs(diff), `mtime of ${path}`).toBeLessThan(1000);
  }
});
