/**
 * A restore killed between writing a replacement under its temporary name and renaming it leaves
 * `.kloset-RANDOM-N.tmp` behind; the next restore into that directory removes such files when they
 * are regular files older than its own start, and nothing else.
 */
import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EntryAttributes } from '@kloset/connector-contract';
import { FsDestination } from '@kloset/connector-fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from './helpers.ts';

let target: string;
let remove: () => Promise<void>;
beforeEach(async () => {
  let base: string;
  ({ dir: base, remove } = await tempDir());
  target = join(base, 'target');
  await mkdir(join(target, 'd'), { recursive: true });
});
afterEach(() => remove());

const T = { sec: 1_650_000_000, nsec: 0 };
const entry = (path: string, type: EntryAttributes['type']) =>
  ({ path, type, size: 0, mtime: T, mode: 0o755, metadata: {} }) as EntryAttributes;

/** A file at `path` whose mtime is `ageMs` before now (negative: in the future). */
async function fileAged(path: string, ageMs: number): Promise<void> {
  await writeFile(path, '');
  const t = (Date.now() - ageMs) / 1000;
  await utimes(path, t, t);
}

describe('FsDestination and the temporary files of a killed restore', () => {
  it('removes old .kloset-RANDOM-N.tmp files from the directories it writes into, and nothing else', async () => {
    const stale = ['.kloset-0123456789ab-0.tmp', '.kloset-abcdefabcdef-1z.tmp'];
    for (const name of stale) {
      await fileAged(join(target, name), 60_000);
      await fileAged(join(target, 'd', name), 60_000);
    }
    // Not a temporary name, a temporary name's shape on a directory, one written after the start.
    const kept = ['.kloset-0123456789ab-0.tmp.bak', 'kloset-0123456789ab-0.tmp', '.kloset-0123-0.tmp'];
    for (const name of kept) await fileAged(join(target, name), 60_000);
    await mkdir(join(target, '.kloset-111111111111-0.tmp'));
    await fileAged(join(target, 'd', '.kloset-222222222222-0.tmp'), -60_000);

    const dest = new FsDestination(target);
    expect((await dest.write(entry('/', 'directory'))).ok).toBe(true);
    expect((await dest.write(entry('/d', 'directory'))).ok).toBe(true);
    await dest.finish();
    await dest.close();

    expect((await readdir(target)).sort()).toEqual(
      [
        '.kloset-0123-0.tmp',
        '.kloset-0123456789ab-0.tmp.bak',
        '.kloset-111111111111-0.tmp',
        'd',
        'kloset-0123456789ab-0.tmp',
      ].sort(),
    );
    expect(await readdir(join(target, 'd'))).toEqual(['.kloset-222222222222-0.tmp']);
  });
});
