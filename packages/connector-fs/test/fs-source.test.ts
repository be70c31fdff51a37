import { readdirSync, readlinkSync } from 'node:fs';
import { appendFile, chmod, lstat, mkdir, symlink, truncate, utimes, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { isConnectorError, type SourceRecord } from '@kloset/connector-contract';
import { FsSource, type FsSourceOptions } from '@kloset/connector-fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { READ_PIECE } from '../src/source/file-content.ts';
import { runAsUser, tempDir } from './helpers.ts';

let root: string;
let remove: () => Promise<void>;
beforeEach(async () => {
  ({ dir: root, remove } = await tempDir());
});
afterEach(() => remove());

async function scan(dir = root, options: FsSourceOptions = {}): Promise<Map<string, SourceRecord>> {
  const out = new Map<string, SourceRecord>();
  for await (const r of new FsSource(dir, options).scan()) out.set(r.path, r);
  return out;
}

/** Without the worker, small files are read when opened: changes after the scan are seen. */
const ON_THIS_THREAD: FsSourceOptions = { worker: false };

async function read(record: SourceRecord): Promise<string> {
  let s = '';
  for await (const chunk of await record.open()) s += new TextDecoder().decode(chunk);
  return s;
}

async function failure(p: Promise<unknown>) {
  try {
    await p;
  } catch (err) {
    if (isConnectorError(err)) return err;
    throw err;
  }
  throw new Error('expected a failure');
}

describe('FsSource', () => {
  it('describes itself: protocol fs, host name, absolute root', () => {
    const source = new FsSource(root);
    expect(source.info).toEqual({ protocol: 'fs', origin: hostname(), root });
  });

  it('records symlinks without following them (to a directory, a file, nowhere)', async () => {
    await mkdir(join(root, 'real'));
    await writeFile(join(root, 'real', 'inside'), 'x');
    await symlink('real', join(root, 'to-dir'));
    await symlink('real/inside', join(root, 'to-file'));
    await symlink('/nonexistent/target', join(root, 'dangling'));
    const records = await scan();
    expect([...records.keys()].sort()).toEqual([
      '/',
      '/dangling',
      '/real',
      '/real/inside',
      '/to-dir',
      '/to-file',
    ]);
    expect(records.get('/to-dir')).toMatchObject({ type: 'symlink', linkTarget: 'real', size: 0 });
    expect(records.get('/to-file')).toMatchObject({ type: 'symlink', linkTarget: 'real/inside' });
    expect(records.get('/dangling')).toMatchObject({ type: 'symlink', linkTarget: '/nonexistent/target' });
    expect(records.get('/dangling')?.error).toBeUndefined();
  });

  it('keeps permission bits, special bits included, and owners', async () => {
    await writeFile(join(root, 'run.sh'), '#!/bin/sh\n');
    await chmod(join(root, 'run.sh'), 0o755);
    await writeFile(join(root, 'secret'), 's');
    await chmod(join(root, 'secret'), 0o600);
    await mkdir(join(root, 'shared'));
    await chmod(join(root, 'shared'), 0o1777);
    const records = await scan();
    expect(records.get('/run.sh')?.mode).toBe(0o755);
    expect(records.get('/secret')?.mode).toBe(0o600);
    expect(records.get('/shared')?.mode).toBe(0o1777);
    const st = await lstat(join(root, 'secret'));
    expect(records.get('/secret')).toMatchObject({ uid: st.uid, gid: st.gid });
  });

  it('reports mtimes to the nanosecond, as stored', async () => {
    await writeFile(join(root, 'f'), 'x');
    await utimes(join(root, 'f'), 1_600_000_000.123456, 1_600_000_000.123456);
    const st = await lstat(join(root, 'f'), { bigint: true });
    const { mtime } = (await scan()).get('/f')!;
    expect(BigInt(mtime.sec) * 1_000_000_000n + BigInt(mtime.nsec)).toBe(st.mtimeNs);
    expect(mtime.sec).toBe(1_600_000_000);
    expect(Math.round(mtime.nsec / 1000)).toBe(123_456);
  });

  it('handles Unicode names and empty files', async () => {
    await mkdir(join(root, 'répertoire ✓'));
    await writeFile(join(root, 'répertoire ✓', '空.txt'), '');
    const record = (await scan()).get('/répertoire ✓/空.txt');
    expect(record).toMatchObject({ type: 'file', size: 0 });
    expect(await read(record!)).toBe('');
  });

  it('skips sockets', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(join(root, 'sock'), resolve));
    try {
      await writeFile(join(root, 'f'), 'x');
      expect([...(await scan()).keys()].sort()).toEqual(['/', '/f']);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('a missing root fails with not_found naming the path; a file root with invalid', async () => {
    const missing = join(root, 'nope');
    const err = await failure(scan(missing));
    expect(err.code).toBe('not_found');
    expect(err.message).toContain(missing);
    expect(err.context.key).toBe(missing);
    await writeFile(join(root, 'file'), 'x');
    expect((await failure(scan(join(root, 'file')))).code).toBe('invalid');
  });

  it('follows a root that is a symlink to a directory', async () => {
    await mkdir(join(root, 'real'));
    await writeFile(join(root, 'real', 'a'), 'x');
    await symlink(join(root, 'real'), join(root, 'link'));
    expect([...(await scan(join(root, 'link'))).keys()].sort()).toEqual(['/', '/a']);
  });

  it('the content fails with changed when the file changed after the scan', async () => {
    await writeFile(join(root, 'grows'), 'abc');
    await writeFile(join(root, 'touched'), 'abc');
    const records = await scan(root, ON_THIS_THREAD);
    await appendFile(join(root, 'grows'), 'def');
    await utimes(join(root, 'touched'), 1_000, 1_000);
    expect((await failure(read(records.get('/grows')!))).code).toBe('changed');
    expect((await failure(read(records.get('/touched')!))).code).toBe('changed');
  });

  it('a file of several read pieces comes back byte for byte; one that shrank is changed', async () => {
    const big = new Uint8Array(READ_PIECE * 2 + 12345);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >>> 13)) & 0xff;
    await writeFile(join(root, 'big'), big);
    await writeFile(join(root, 'shrinks'), big);
    const records = await scan();
    const pieces: Uint8Array[] = [];
    for await (const piece of await records.get('/big')!.open()) pieces.push(piece);
    expect(pieces.map((p) => p.length)).toEqual([READ_PIECE, READ_PIECE, 12345]);
    expect(Buffer.concat(pieces).equals(big)).toBe(true);
    await truncate(join(root, 'shrinks'), READ_PIECE + 1);
    const err = await failure(read(records.get('/shrinks')!));
    expect(err.code).toBe('changed');
    expect(err.message).toContain('shrank');
  });

  it('an empty file yields nothing; one that is no longer empty is changed', async () => {
    await writeFile(join(root, 'empty'), '');
    await writeFile(join(root, 'filled'), '');
    const records = await scan(root, ON_THIS_THREAD);
    await writeFile(join(root, 'filled'), 'x');
    const pieces: Uint8Array[] = [];
    for await (const piece of await records.get('/empty')!.open()) pieces.push(piece);
    expect(pieces).toEqual([]);
    expect((await failure(read(records.get('/filled')!))).code).toBe('changed');
  });

  it('a file that vanished after the scan fails open() with not_found', async () => {
    await writeFile(join(root, 'gone'), 'abc');
    const records = await scan(root, ON_THIS_THREAD);
    await remove();
    expect((await failure(read(records.get('/gone')!))).code).toBe('not_found');
  });

  it('the change token changes when the content is rewritten', async () => {
    await writeFile(join(root, 'f'), 'aaa');
    const before = (await scan()).get('/f')!.changeToken;
    await new Promise((resolve) => setTimeout(resolve, 20));
    await writeFile(join(root, 'f'), 'bbb');
    const after = (await scan()).get('/f')!.changeToken;
    expect(before).toBeTypeOf('string');
    expect(after).not.toBe(before);
  });

  it('a scan stopped at any record closes every directory it opened', async () => {
    // Four levels, each with files and a subdirectory, 40 entries at the top (two batches).
    let dir = root;
    for (let depth = 0; depth < 4; depth++) {
      for (let i = 0; i < (depth === 0 ? 40 : 3); i++) await writeFile(join(dir, `f${i}`), 'x');
      dir = join(dir, `d${depth}`);
      await mkdir(dir);
    }
    const openUnderRoot = () =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`).startsWith(root);
        } catch {
          return false;
        }
      }).length;
    const total = (await scan()).size;
    expect(total).toBe(1 + 40 + 3 * 3 + 4);
    expect(openUnderRoot()).toBe(0);
    for (let stopAt = 1; stopAt <= total; stopAt++) {
      let seen = 0;
      let deepest = 0;
      for await (const _ of new FsSource(root, ON_THIS_THREAD).scan()) {
        seen++;
        deepest = Math.max(deepest, openUnderRoot());
        if (seen === stopAt) break;
      }
      expect(openUnderRoot(), `open directories after stopping at record ${stopAt}`).toBe(0);
      if (stopAt === total) expect(deepest).toBeGreaterThanOrEqual(4);
    }
  });

  it('yields every entry of a wide directory once', async () => {
    await mkdir(join(root, 'wide'));
    for (let i = 0; i < 1500; i++) await writeFile(join(root, 'wide', `f${i}`), '');
    const records = await scan();
    expect(records.size).toBe(1502);
  });

  it('records unreadable directories and files with an error, and goes on', async () => {
    await mkdir(join(root, 'locked'));
    await writeFile(join(root, 'locked', 'hidden'), 'x');
    await chmod(join(root, 'locked'), 0o000);
    await writeFile(join(root, 'private'), 'x');
    await chmod(join(root, 'private'), 0o000);
    await writeFile(join(root, 'public'), 'x');
    await chmod(root, 0o755);
    const out = runAsUser('scan', root) as { ok: { path: string; error?: string }[] };
    const byPath = new Map(out.ok.map((r) => [r.path, r]));
    expect([...byPath.keys()].sort()).toEqual(['/', '/locked', '/private', '/public']);
    expect(byPath.get('/locked')!.error).toMatch(/opendir: permission denied \(EACCES\)/);
    expect(byPath.get('/public')!.error).toBeUndefined();
    expect(runAsUser('open', root, '/private')).toMatchObject({ code: 'permission' });
    expect(runAsUser('open', root, '/public')).toEqual({ ok: 'read' });
  });

  it('an unreadable root fails the scan with permission', async () => {
    await mkdir(join(root, 'closed'));
    await chmod(join(root, 'closed'), 0o000);
    await chmod(root, 0o755);
    expect(runAsUser('scan', join(root, 'closed'))).toMatchObject({ code: 'permission' });
  });
});
