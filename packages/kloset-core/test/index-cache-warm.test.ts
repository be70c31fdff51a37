import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it, onTestFinished } from 'vitest';
import { warmFile } from '../src/repository/index-cache-warm.ts';
import { tempDir } from './repository-helpers.ts';

/** A fresh directory, removed when the test ends. */
function testDir(): string {
  const dir = tempDir('kloset-warm-');
  onTestFinished(dir.cleanup);
  return dir.path;
}

it('warmFile never fails: a missing file, a directory, an empty file', async () => {
  const dir = testDir();
  await writeFile(join(dir, 'empty'), '');
  await expect(warmFile(join(dir, 'missing'))).resolves.toBeUndefined();
  await expect(warmFile(dir)).resolves.toBeUndefined();
  await expect(warmFile(join(dir, 'empty'))).resolves.toBeUndefined();
});

it('warmFile reads a file larger than its buffer, and stops at the limit', async () => {
  const dir = testDir();
  const path = join(dir, 'index.sqlite');
  await writeFile(path, Buffer.alloc(3 * 1024 * 1024 + 5, 7));
  await expect(warmFile(path)).resolves.toBeUndefined();
  await expect(warmFile(path, 1024 * 1024)).resolves.toBeUndefined();
});
