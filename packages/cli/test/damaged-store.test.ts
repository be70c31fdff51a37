/**
 * A damaged store, through the binary: `check` finds each kind of damage whatever the local cache
 * holds and exits 4 naming the files, a new client still opens the store, the next backup stores
 * lost files again, and a damaged local cache is set aside and rebuilt, never blamed on the store.
 */
import { randomBytes } from 'node:crypto';
import { cp, mkdir, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CliHome, klosetIn, makeCliHome, ok, removeDir } from './helpers/cli-home.ts';

const PASS = 'damaged store passphrase';
let home: CliHome;
let k: ReturnType<typeof klosetIn>;
let store: string;
let data: string;
const contents = new Map<string, Buffer>();

beforeEach(async () => {
  home = await makeCliHome('damaged');
  k = klosetIn(home, { KLOSET_PASSPHRASE: PASS });
  data = join(home.dir, 'data');
  await mkdir(data);
  contents.clear();
  for (const name of ['one.bin', 'two.bin', 'three.bin']) {
    const bytes = randomBytes(300_000);
    contents.set(name, bytes);
    await writeFile(join(data, name), bytes);
  }
  store = join(home.dir, 'store');
  ok(await k(['at', store, 'create']));
  ok(await k(['at', store, 'backup', data]));
});
afterEach(() => removeDir(home?.dir));

/** Files under `dir`, recursively, with their sizes, largest first. */
async function filesBySize(dir: string): Promise<{ path: string; size: number }[]> {
  const out: { path: string; size: number }[] = [];
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const path = join(e.parentPath, e.name);
    out.push({ path, size: (await stat(path)).size });
  }
  return out.sort((a, b) => b.size - a.size);
}

/** The packfile holding file content (the largest: tree nodes are packed apart, and small). */
async function dataPackfile(): Promise<string> {
  return (await filesBySize(join(store, 'packfiles')))[0]!.path;
}

async function flipByte(path: string, at: (size: number) => number): Promise<void> {
  const bytes = await readFile(path);
  bytes[at(bytes.length)]! ^= 0x20;
  await writeFile(path, bytes);
}

/** A client with an empty cache (the disaster-recovery case). */
const fresh = (argv: readonly string[]) =>
  k(argv, { XDG_CACHE_HOME: join(home.dir, `cache-${Math.random()}`) });

const namesAFile = (text: string) => /\/(one|two|three)\.bin/.test(text);

describe('check on a damaged local store', () => {
  it('a flipped byte in a state: caught with a warm cache, and a new client still lists and restores', async () => {
    const [state] = await readdir(join(store, 'states'));
    await flipByte(join(store, 'states', state!), (n) => n >> 1);
    for (const fast of [[], ['-fast']]) {
      const r = await k(['at', store, 'check', ...fast]);
      expect(r.code, r.stderr).toBe(4);
      expect(r.stderr).toContain(`state ${state} cannot be read`);
      expect(r.stderr).toContain("run 'kloset repair'");
    }
    const ls = await fresh(['at', store, 'ls']);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stderr).toMatch(
      /1 state of the store cannot be read .*run 'kloset check', then 'kloset repair'/,
    );
  });

  it('a truncated packfile: check -fast and check exit 4 naming the files, never a raw read error', async () => {
    const pack = await dataPackfile();
    await truncate(pack, (await stat(pack)).size >> 1);
    for (const fast of [['-fast'], []]) {
      const r = await k(['at', store, 'check', ...fast]);
      expect(r.code, r.stderr).toBe(4);
      expect(r.stderr).toMatch(/truncated or altered/);
      expect(namesAFile(r.stderr), r.stderr).toBe(true);
      expect(r.stderr).not.toMatch(/range past the end/);
    }
  });

  it('a flipped byte in a packfile footer or index: check exits 4 naming the files', async () => {
    for (const at of [(n: number) => n - 3, (n: number) => n - 40]) {
      const pack = await dataPackfile();
      const saved = await readFile(pack);
      await flipByte(pack, at);
      const r = await k(['at', store, 'check']);
      expect(r.code, r.stderr).toBe(4);
      expect(r.stderr).toMatch(/its own index cannot be read/);
      expect(namesAFile(r.stderr), r.stderr).toBe(true);
      await writeFile(pack, saved);
    }
    ok(await k(['at', store, 'check']));
  });

  it('a deleted packfile: check exits 4 naming the files; the next backup stores them again', async () => {
    await rm(await dataPackfile());
    const r = await k(['at', store, 'check', '-fast']);
    expect(r.code, r.stderr).toBe(4);
    expect(namesAFile(r.stderr), r.stderr).toBe(true);
    const again = ok(await fresh(['at', store, 'backup', data]));
    expect(again.stderr).toMatch(
      /^kloset: backup: 1 packfile of the store is gone \(first: [0-9a-f]{64}\): their data was read from the source and stored again; run 'kloset check', then 'kloset repair'$/m,
    );
    expect(again.stdout).not.toMatch(/\(0 B added\)/);
    const out = join(home.dir, 'out');
    ok(await k(['at', store, 'restore', '-to', out, 'latest']));
    for (const [name, bytes] of contents) expect((await readFile(join(out, name))).equals(bytes)).toBe(true);
    // The new snapshot is whole; the store still lists the lost packfile until `repair`.
    const after = await k(['at', store, 'check', 'latest']);
    expect(after.code).toBe(4);
    expect(after.stderr).toMatch(/packfile [0-9a-f]{64} is listed by the states but not in storage/);
    expect(namesAFile(after.stderr), after.stderr).toBe(false);
  });
});

describe('a corrupt snapshot header', () => {
  it('is named when choosing latest, never silently skipped', async () => {
    await writeFile(join(data, 'one.bin'), 'changed');
    ok(await k(['at', store, 'backup', data]));
    const headers = await readdir(join(store, 'snapshots'));
    const list = JSON.parse(
      `[${ok(await k(['at', store, 'ls', '-json']))
        .stdout.trim()
        .split('\n')
        .join(',')}]`,
    );
    const newest = list.at(-1).id as string;
    expect(headers).toContain(newest);
    await flipByte(join(store, 'snapshots', newest), (n) => n >> 1);
    const out = join(home.dir, 'out');
    const r = await k(['at', store, 'restore', '-to', out, 'latest']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      new RegExp(
        `^kloset: snapshot ${newest} cannot be read \\(.+\\): left out when choosing latest; run 'kloset check'$`,
        'm',
      ),
    );
  });
});

describe('a damaged local cache', () => {
  it('is set aside and rebuilt, said once, and never reported as store corruption', async () => {
    const [cacheDir] = await readdir(join(home.dir, 'cache', 'kloset'));
    const db = join(home.dir, 'cache', 'kloset', cacheDir!, 'index.sqlite');
    const good = `${db}.good`;
    ok(await k(['at', store, 'ls'])); // the WAL checkpointed into the file
    await cp(db, good);
    const size = (await stat(db)).size;
    const garbage = async () => {
      await cp(good, db);
      await rm(`${db}-wal`, { force: true });
      const bytes = await readFile(db);
      bytes.fill(0xde, 4096, size);
      await writeFile(db, bytes);
    };
    for (const argv of [['restore', '-to', join(home.dir, 'out'), 'latest'], ['check'], ['backup', data]]) {
      await garbage();
      const r = await k(['at', store, ...argv]);
      expect(r.code, `${argv[0]}: ${r.stderr}`).toBe(0);
      const lines = r.stderr.split('\n').filter((l) => l.includes('local index cache'));
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/set aside as .*index\.sqlite\.damaged and rebuilt from the store/);
      expect(r.stderr).not.toMatch(/corrupt|problem/);
    }
    const again = ok(await k(['at', store, 'check']));
    expect(again.stderr).not.toContain('local index cache');
    // A deleted cache is rebuilt silently.
    await rm(join(home.dir, 'cache'), { recursive: true });
    expect(ok(await k(['at', store, 'check'])).stderr).toBe('');
  });
});
