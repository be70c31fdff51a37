import { chmod, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConnectorError, isConnectorError, type PutBody } from '@kloset/connector-contract';
import { testResourceId } from '@kloset/connector-contract/testing';
import { FsStorage } from '@kloset/connector-fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fsError } from '../src/fs-errors.ts';
import { runAsUser, tempDir } from './helpers.ts';

let root: string;
let remove: () => Promise<void>;
beforeEach(async () => {
  ({ dir: root, remove } = await tempDir());
});
afterEach(() => remove());

async function failure(p: Promise<unknown>) {
  try {
    await p;
  } catch (err) {
    if (isConnectorError(err)) return err;
    throw err;
  }
  throw new Error('expected a failure');
}

async function listAll(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(join(e.parentPath, e.name).slice(dir.length + 1));
  }
  return out.sort();
}

describe('FsStorage', () => {
  it('lays resources out as documented', async () => {
    const storage = new FsStorage(root);
    await storage.create(new Uint8Array([1]));
    const id = `ab${'0'.repeat(62)}`;
    await storage.put('packfile', id, new Uint8Array(3));
    await storage.put('state', id, new Uint8Array(3));
    await storage.put('snapshot', id, new Uint8Array(3));
    await storage.put('lock', id, new Uint8Array(3));
    expect(await listAll(root)).toEqual([
      'config',
      `locks/${id}`,
      `packfiles/ab/${id}`,
      `snapshots/${id}`,
      `states/${id}`,
    ]);
    expect((await stat(join(root, 'packfiles', 'ab', id))).mode & 0o777).toBe(0o600);
  });

  it('a PutBody failing midway leaves no file behind, temporary or final', async () => {
    const storage = new FsStorage(root);
    await storage.create(new Uint8Array([1]));
    const body: PutBody = {
      size: 1000,
      async *open() {
        yield new Uint8Array(500);
        throw new Error('body broke');
      },
    };
    await expect(storage.put('packfile', testResourceId(1), body)).rejects.toThrow('body broke');
    await expect(
      storage.put('packfile', testResourceId(2), { size: 10, open: async function* () {} }),
    ).rejects.toMatchObject({ code: 'invalid' });
    expect(await listAll(root)).toEqual(['config']);
  });

  it('two storages creating the same store at once: exactly one wins', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => new FsStorage(root).create(new Uint8Array([i]))),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') expect(isConnectorError(r.reason, 'already_exists')).toBe(true);
    }
    expect(await listAll(root)).toEqual(['config']);
  });

  it('does not list temporary or foreign files', async () => {
    const storage = new FsStorage(root);
    await storage.create(new Uint8Array([1]));
    const id = testResourceId(3);
    await storage.put('snapshot', id, new Uint8Array(2));
    await writeFile(join(root, 'snapshots', `.${id}.abc.tmp`), 'partial');
    await writeFile(join(root, 'snapshots', 'README'), 'x');
    await mkdir(join(root, 'snapshots', testResourceId(4)));
    await mkdir(join(root, 'packfiles', 'zz'), { recursive: true });
    await writeFile(join(root, 'packfiles', 'zz', testResourceId(5)), 'x');
    const listed = [];
    for await (const r of storage.list('snapshot')) listed.push({ id: r.id, size: r.size });
    expect(listed).toEqual([{ id, size: 2 }]);
    for await (const r of storage.list('packfile')) expect.fail(`listed ${r.id}`);
  });

  it('open() of a missing store names the directory', async () => {
    const missing = join(root, 'nothing-here');
    const err = await failure(new FsStorage(missing).open());
    expect(err.code).toBe('not_found');
    expect(err.message).toContain(missing);
  });

  it('a store in a directory the user cannot read fails with permission', async () => {
    const storage = new FsStorage(join(root, 'store'));
    await storage.create(new Uint8Array([1]));
    await chmod(join(root, 'store'), 0o700);
    await chmod(root, 0o755);
    expect(runAsUser('storage-open', join(root, 'store'))).toMatchObject({ code: 'permission' });
    await chmod(join(root, 'store'), 0o755);
    await chmod(join(root, 'store', 'config'), 0o644);
    expect(runAsUser('storage-open', join(root, 'store'))).toEqual({ ok: 1 });
  });

  it('maps errno codes to contract codes and keeps the path', () => {
    const sys = (code: string) => Object.assign(new Error(`${code}: some reason, open '/x'`), { code });
    const cases: [string, string][] = [
      ['ENOENT', 'not_found'],
      ['EACCES', 'permission'],
      ['EROFS', 'permission'],
      ['EEXIST', 'already_exists'],
      ['ENOSPC', 'unavailable'],
      ['EIO', 'transient'],
      ['ENOTDIR', 'invalid'],
    ];
    for (const [errno, code] of cases) {
      const err = fsError(sys(errno), 'put', '/store/x', '/store');
      expect(err.code, errno).toBe(code);
      expect(err.message).toBe(`put /store/x: some reason (${errno})`);
      expect(err.context).toEqual({ op: 'put', key: '/store/x', container: '/store' });
    }
    const passthrough = new ConnectorError('invalid', 'x');
    expect(fsError(passthrough, 'get', '/y')).toBe(passthrough);
  });
});
