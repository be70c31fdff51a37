import { chmod, lstat, mkdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContentStream, EntryAttributes } from '@kloset/connector-contract';
import { FsDestination } from '@kloset/connector-fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readTree, runAsUser, tempDir } from './helpers.ts';

let base: string;
let target: string;
let remove: () => Promise<void>;
beforeEach(async () => {
  ({ dir: base, remove } = await tempDir());
  target = join(base, 'target');
});
afterEach(() => remove());

const T = { sec: 1_650_000_000, nsec: 123_456_789 };
const dir = (path: string, extra: Partial<EntryAttributes> = {}): EntryAttributes => ({
  path,
  type: 'directory',
  size: 0,
  mtime: T,
  mode: 0o755,
  metadata: {},
  ...extra,
});
const file = (path: string, size: number, extra: Partial<EntryAttributes> = {}): EntryAttributes => ({
  path,
  type: 'file',
  size,
  mtime: T,
  mode: 0o644,
  metadata: {},
  ...extra,
});
async function* bytes(...parts: string[]): ContentStream {
  for (const p of parts) yield new TextEncoder().encode(p);
}

describe('FsDestination', () => {
  it('refuses invalid paths and children of anything but a restored directory', async () => {
    const d = new FsDestination(target);
    expect((await d.write(dir('/a'))).ok).toBe(false); // before the root
    expect((await d.write(dir('/'))).ok).toBe(true);
    await writeFile(join(base, 'outside'), 'keep');
    for (const path of ['/../outside', 'relative', '/a/../../outside', '/a//b', '/./x']) {
      const result = await d.write(file(path, 1), bytes('x'));
      expect(result.ok, path).toBe(false);
      expect(result.error).toMatch(/invalid path/);
    }
    expect((await d.write(file('/missing-parent/x', 1), bytes('x'))).ok).toBe(false);
    expect(await readFile(join(base, 'outside'), 'utf8')).toBe('keep');
  });

  it('never writes through a restored symlink', async () => {
    const outside = join(base, 'outside');
    await mkdir(outside);
    const d = new FsDestination(target);
    await d.write(dir('/'));
    const link: EntryAttributes = { ...file('/evil', 0), type: 'symlink', linkTarget: outside };
    expect((await d.write(link)).ok).toBe(true);
    const result = await d.write(file('/evil/payload', 1), bytes('x'));
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/parent directory \/evil was not restored/);
    expect((await d.write(dir('/evil'))).ok).toBe(false);
    expect(await readTree(outside)).toEqual(new Map([['/', expect.anything()]]));
  });

  it('refuses a directory where a pre-existing symlink is', async () => {
    await mkdir(target);
    await mkdir(join(base, 'elsewhere'));
    await symlink(join(base, 'elsewhere'), join(target, 'sub'));
    const d = new FsDestination(target);
    await d.write(dir('/'));
    expect((await d.write(dir('/sub'))).ok).toBe(false);
    expect((await d.write(file('/sub/x', 1), bytes('x'))).ok).toBe(false);
    expect(await readlink(join(target, 'sub'))).toBe(join(base, 'elsewhere'));
  });

  it('replaces existing files and reuses existing directories', async () => {
    await mkdir(join(target, 'sub'), { recursive: true });
    await writeFile(join(target, 'sub', 'f'), 'old content');
    const d = new FsDestination(target);
    await d.write(dir('/'));
    expect((await d.write(dir('/sub'))).ok).toBe(true);
    expect((await d.write(file('/sub/f', 3), bytes('n', 'ew'))).ok).toBe(true);
    await d.finish();
    expect(await readFile(join(target, 'sub', 'f'), 'utf8')).toBe('new');
  });

  it('an existing file whose new content fails keeps its old content, whole', async () => {
    await mkdir(target, { recursive: true });
    await writeFile(join(target, 'f'), 'old content');
    const d = new FsDestination(target);
    await d.write(dir('/'));
    const { ConnectorError } = await import('@kloset/connector-contract');
    async function* broken(): ContentStream {
      yield new TextEncoder().encode('new');
      throw new ConnectorError('corrupt', 'blob failed its check');
    }
    await expect(d.write(file('/f', 6), broken())).rejects.toThrow(/blob failed/);
    const short = await d.write(file('/f', 10), bytes('abc'));
    expect(short.ok).toBe(false);
    await d.finish();
    expect(await readFile(join(target, 'f'), 'utf8')).toBe('old content');
    expect([...(await readTree(target)).keys()].sort()).toEqual(['/', '/f']);
  });

  it('a content of the wrong length is an error result and leaves nothing', async () => {
    const d = new FsDestination(target);
    await d.write(dir('/'));
    const short = await d.write(file('/short', 10), bytes('abc'));
    const long = await d.write(file('/long', 2), bytes('abc'));
    expect(short.ok).toBe(false);
    expect(short.error).toMatch(/3 bytes, expected 10/);
    expect(long.ok).toBe(false);
    await d.finish();
    expect([...(await readTree(target)).keys()]).toEqual(['/']);
  });

  it('a file where a directory exists is an error result naming the path', async () => {
    await mkdir(join(target, 'taken'), { recursive: true });
    const d = new FsDestination(target);
    await d.write(dir('/'));
    const result = await d.write(file('/taken', 1), bytes('x'));
    expect(result.ok).toBe(false);
    expect(result.error).toContain(join(target, 'taken'));
    expect([...(await readTree(target)).keys()].sort()).toEqual(['/', '/taken']);
  });

  it('restores modes (executable, setgid), owners when root, and mtimes to the microsecond', async () => {
    const d = new FsDestination(target);
    await d.write(dir('/', { mode: 0o750 }));
    await d.write(dir('/ro', { mode: 0o555, mtime: { sec: 1_000_000_000, nsec: 999_999_000 } }));
    await d.write(file('/ro/run', 2, { mode: 0o2755, uid: 4321, gid: 8765 }), bytes('hi'));
    await d.finish();
    const run = await lstat(join(target, 'ro', 'run'), { bigint: true });
    expect(Number(run.mode & 0o7777n).toString(8)).toBe('2755');
    if (process.getuid?.() === 0) expect([Number(run.uid), Number(run.gid)]).toEqual([4321, 8765]);
    const ns = (t: { sec: number; nsec: number }) => BigInt(t.sec) * 1_000_000_000n + BigInt(t.nsec);
    expect(Number(run.mtimeNs - ns(T))).toBeLessThan(1000);
    expect(Number(run.mtimeNs - ns(T))).toBeGreaterThan(-1000);
    const ro = await lstat(join(target, 'ro'), { bigint: true });
    expect(Number(ro.mode & 0o7777n)).toBe(0o555);
    expect(Math.abs(Number(ro.mtimeNs - ns({ sec: 1_000_000_000, nsec: 999_999_000 })))).toBeLessThan(1000);
    expect(Number((await lstat(target)).mode & 0o7777)).toBe(0o750);
  });

  it('a content error propagates, also when it is a ConnectorError', async () => {
    const d = new FsDestination(target);
    await d.write(dir('/'));
    const { ConnectorError } = await import('@kloset/connector-contract');
    const failure = new ConnectorError('corrupt', 'blob failed its check');
    async function* broken(): ContentStream {
      yield new Uint8Array(5);
      throw failure;
    }
    await expect(d.write(file('/x', 10), broken())).rejects.toBe(failure);
    expect([...(await readTree(target)).keys()]).toEqual(['/']);
  });

  it('a file it may not write is an error result with the path, not a throw', async () => {
    await mkdir(target);
    await chmod(target, 0o555);
    await chmod(base, 0o755);
    const out = runAsUser('destination-file', target, '/f') as { ok: { ok: boolean; error: string } };
    expect(out.ok.ok).toBe(false);
    expect(out.ok.error).toMatch(/permission denied \(EACCES\)/);
    expect(out.ok.error).toContain(target);
  });
});
