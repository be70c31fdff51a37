import { chmod, mkdir, readdir, readlink, stat, utimes, writeFile } from 'node:fs/promises';
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

  it('keeps at most 16 packfile descriptors open for ranged reads, fresh after put and delete', async () => {
    const storage = new FsStorage(root);
    await storage.create(new Uint8Array([1]));
    const openInStore = async () => {
      let n = 0;
      for (const fd of await readdir('/proc/self/fd')) {
        const target = await readlink(join('/proc/self/fd', fd)).catch(() => '');
        if (target.startsWith(root)) n++;
      }
      return n;
    };
    const ids = Array.from({ length: 40 }, (_, i) => testResourceId(i));
    for (const [i, id] of ids.entries()) await storage.put('packfile', id, new Uint8Array(64).fill(i));
    for (const [i, id] of ids.entries()) {
      const ranges = await Promise.all(
        [0, 10, 20].map((offset) => storage.get('packfile', id, { offset, length: 5 })),
      );
      expect(ranges.every((r) => r.length === 5 && r.every((b) => b === i))).toBe(true);
    }
    expect(await openInStore()).toBe(16);
    // A replaced packfile reads back new bytes; a deleted one is not found.
    await storage.put('packfile', ids[39]!, new Uint8Array(64).fill(200));
    expect((await storage.get('packfile', ids[39]!, { offset: 1, length: 2 }))[0]).toBe(200);
    await storage.delete('packfile', ids[38]!);
    expect((await failure(storage.get('packfile', ids[38]!, { offset: 0, length: 1 }))).code).toBe(
      'not_found',
    );
    await storage.close();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await openInStore()).toBe(0);
  });

  it('a PutBody of thousands of parts (empty ones too) and one large part is stored exactly', async () => {
    const storage = new FsStorage(root);
    await storage.create(new Uint8Array([1]));
    const parts = Array.from({ length: 3000 }, (_, i) => new Uint8Array(i % 7).fill(i & 0xff));
    parts.push(new Uint8Array(9 * 1024 * 1024).fill(7), Uint8Array.of(1, 2, 3));
    const expected = Buffer.concat(parts);
    const id = testResourceId(1);
    await storage.put('packfile', id, {
      size: expected.length,
      async *open() {
        yield* parts;
      },
    });
    expect(Buffer.from(await storage.get('packfile', id)).equals(expected)).toBe(true);
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

  it('removeLeftovers removes temporary files by mtime, in every directory, and nothing else', async () => {
    const storage = new FsStorage(root);
    await storage.create(new Uint8Array([1]));
    const id = testResourceId(3);
    await storage.put('packfile', id, new Uint8Array(10));
    await storage.put('state', id, new Uint8Array(20));
    const dayAgo = new Date(Date.now() - 25 * 3600_000);
    const place = async (path: string, size: number, old: boolean) => {
      await writeFile(join(root, path), new Uint8Array(size));
      if (old) await utimes(join(root, path), dayAgo, dayAgo);
    };
    // Old temporary files of a packfile, a state, a snapshot, a lock and the config.
    await place(`packfiles/${id.slice(0, 2)}/.${id}.0123456789ab.tmp`, 100, true);
    await place(`states/.${id}.00000000000f.tmp`, 200, true);
    await place(`snapshots/.${id}.aaaaaaaaaaaa.tmp`, 300, true);
    await place(`locks/.${id}.bbbbbbbbbbbb.tmp`, 400, true);
    await place('.config.cccccccccccc.tmp', 500, true);
    // Kept: a young temporary file, old files of other names, old resources.
    await place(`packfiles/${id.slice(0, 2)}/.${id}.dddddddddddd.tmp`, 7, false);
    await place('states/.notes.tmp', 1, true);
    await place('states/x.0123456789ab.tmp', 1, true);
    await place('states/.x.0123456789AB.tmp', 1, true);
    await mkdir(join(root, 'snapshots/.dir.0123456789ab.tmp'));
    await utimes(join(root, 'snapshots/.dir.0123456789ab.tmp'), dayAgo, dayAgo);
    await utimes(join(root, `states/${id}`), dayAgo, dayAgo);
    const before = await listAll(root);
    expect(await storage.removeLeftovers(25 * 3600_000 + 60_000)).toEqual({ count: 0, bytes: 0 });
    expect(await storage.removeLeftovers(24 * 3600_000)).toEqual({ count: 5, bytes: 1500 });
    const after = await listAll(root);
    expect(before.filter((p) => !after.includes(p))).toEqual([
      '.config.cccccccccccc.tmp',
      `locks/.${id}.bbbbbbbbbbbb.tmp`,
      `packfiles/${id.slice(0, 2)}/.${id}.0123456789ab.tmp`,
      `snapshots/.${id}.aaaaaaaaaaaa.tmp`,
      `states/.${id}.00000000000f.tmp`,
    ]);
    expect((await stat(join(root, 'snapshots/.dir.0123456789ab.tmp'))).isDirectory()).toBe(true);
    expect(await storage.get('state', id)).toHaveLength(20);
    expect(await storage.removeLeftovers(0)).toEqual({ count: 1, bytes: 7 });
    const ro = new FsStorage(root, { mode: 'read-only' });
    expect((await failure(ro.removeLeftovers(0))).code).toBe('permission');
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
