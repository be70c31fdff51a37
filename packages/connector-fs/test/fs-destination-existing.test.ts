/** FsDestination over what exists before a restore: stat, readExisting and createOnly writes. */
import { execFileSync } from 'node:child_process';
import { lstat, mkdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
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
const entry = (path: string, type: EntryAttributes['type'], extra: Partial<EntryAttributes> = {}) =>
  ({ path, type, size: 0, mtime: T, metadata: {}, ...extra }) as EntryAttributes;
const root = entry('/', 'directory', { mode: 0o755 });
const d = entry('/d', 'directory', { mode: 0o755 });

describe('FsDestination over existing entries', () => {
  it('stat tells files, directories, symlinks (not followed) and others apart, and reads nothing through a symlink', async () => {
    await writeFile(join(target, 'd', 'f.txt'), 'hello');
    await symlink('f.txt', join(target, 'd', 'link'));
    execFileSync('mkfifo', [join(target, 'd', 'fifo')]);
    const dest = new FsDestination(target);
    expect(await dest.stat(entry('/d/f.txt', 'file'))).toEqual({ type: 'file', size: 5 });
    expect(await dest.stat(d)).toEqual({ type: 'directory', size: 0 });
    expect(await dest.stat(entry('/d/link', 'file'))).toEqual({
      type: 'symlink',
      size: 0,
      linkTarget: 'f.txt',
    });
    expect(await dest.stat(entry('/d/fifo', 'file'))).toEqual({ type: 'other', size: 0 });
    expect(await dest.stat(entry('/d/f.txt/below', 'file'))).toBeUndefined();
    expect(await dest.stat(entry('/nothing/here', 'file'))).toBeUndefined();
    const into = new Uint8Array(5);
    expect(await dest.readExisting(entry('/d/link', 'file'), 0, into)).toBeUndefined();
    expect(await dest.readExisting(entry('/d/fifo', 'file'), 0, into), 'a FIFO is not read').toBeUndefined();
    expect(
      Buffer.from((await dest.readExisting(entry('/d/f.txt', 'file'), 1, new Uint8Array(3)))!).toString(),
    ).toBe('ell');
  });

  it('stat of a name kept as bytes (not UTF-8) finds it, below an escaped directory name too', async () => {
    const name = Buffer.from([0x66, 0xff, 0x2e, 0x62]); // "f\xff.b"
    await mkdir(Buffer.concat([Buffer.from(`${target}/`), name]));
    await writeFile(Buffer.concat([Buffer.from(`${target}/`), name, Buffer.from('/x')]), 'abc');
    const dest = new FsDestination(target);
    const escaped = '/f\uefff.b';
    expect(await dest.stat(entry(escaped, 'directory'))).toEqual({ type: 'directory', size: 0 });
    expect(await dest.stat(entry(`${escaped}/x`, 'file'))).toEqual({ type: 'file', size: 3 });
  });

  it('createOnly leaves an existing symlink or file as it is and creates absent ones', async () => {
    await symlink('old-target', join(target, 'd', 'link'));
    await writeFile(join(target, 'd', 'f.txt'), 'old');
    const dest = new FsDestination(target);
    expect((await dest.write(root)).ok).toBe(true);
    expect((await dest.write(d, undefined, { createOnly: true })).ok).toBe(true);
    const link = entry('/d/link', 'symlink', { linkTarget: 'new-target' });
    expect(await dest.write(link, undefined, { createOnly: true })).toMatchObject({
      ok: false,
      exists: true,
    });
    expect(await readlink(join(target, 'd', 'link'))).toBe('old-target');
    const fresh = entry('/d/link2', 'symlink', { linkTarget: 'new-target' });
    expect(await dest.write(fresh, undefined, { createOnly: true })).toEqual({ path: '/d/link2', ok: true });
    expect(await readlink(join(target, 'd', 'link2'))).toBe('new-target');
    expect((await lstat(join(target, 'd', 'link2'))).mtimeMs).toBe(T.sec * 1000);
    async function* content() {
      yield new TextEncoder().encode('new');
    }
    const f = entry('/d/f.txt', 'file', { size: 3 });
    const refused = await dest.write(f, content(), { createOnly: true });
    expect(refused).toMatchObject({ ok: false, exists: true });
    expect(refused.error).toMatch(/\/d\/f\.txt exists: not replaced$/);
    expect(await readFile(join(target, 'd', 'f.txt'), 'utf8')).toBe('old');
  });
});
