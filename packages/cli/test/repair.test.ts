/**
 * `repair` through the binary (bin/kloset.js, running dist/) on a local store: a packfile deleted
 * from the store directory; check exits 4, repair exits 4 naming the lost file, a check by a new
 * client (empty cache) exits 0, and the next backup stores the file again, restored byte-identical.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir } from './helpers/cli-home.ts';
import { jsonLines } from './helpers/run.ts';
import { type SpawnResult, spawnCli } from './helpers/spawn.ts';
import { fingerprint } from './helpers/tree.ts';

let home: string;
let env: Record<string, string>;
let cacheN = 0;

/** Runs the binary; every run with a new, empty cache directory (a new client) unless `cache`. */
function k(argv: string[], cache?: string): Promise<SpawnResult> {
  const xdgCache = cache ?? join(home, `cache-${++cacheN}`);
  return spawnCli(argv, { bin: true, env: { ...env, XDG_CACHE_HOME: xdgCache }, timeoutMs: 120_000 });
}

function ok(r: SpawnResult): SpawnResult {
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
  return r;
}

async function packfiles(store: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const root = join(store, 'packfiles');
  for (const fan of await readdir(root)) {
    for (const name of await readdir(join(root, fan))) {
      if (name.endsWith('.tmp')) continue;
      out.set(join(root, fan, name), (await stat(join(root, fan, name))).size);
    }
  }
  return out;
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'kloset-repair-cli-'));
  env = {
    HOME: home,
    XDG_CONFIG_HOME: join(home, 'config'),
    XDG_DATA_HOME: join(home, 'data'),
    KLOSET_PASSPHRASE: 'correct horse battery staple',
  };
});
afterAll(() => removeDir(home));

describe('repair of a local store', () => {
  it('after a deleted packfile: names the lost file, leaves a clean store, the next backup stores it again', async () => {
    const store = join(home, 'store');
    const data = join(home, 'data-dir');
    await mkdir(data, { recursive: true });
    const kept = randomBytes(300_000);
    const lost = randomBytes(300_000);
    await writeFile(join(data, 'kept.bin'), kept);
    ok(await k(['at', store, 'create']));
    ok(await k(['at', store, 'backup', data]));
    const before = await packfiles(store);
    await writeFile(join(data, 'lost.bin'), lost);
    const second = jsonLines(ok(await k(['at', store, 'backup', '-json', data])).stdout)[0]!.snapshot as {
      id: string;
    };
    // The new packfile holding lost.bin's content (the other new one holds tree nodes).
    const added = [...(await packfiles(store))].filter(([p]) => !before.has(p)).sort((a, b) => b[1] - a[1]);
    await rm(added[0]![0]);

    const checked = await k(['at', store, 'check']);
    expect(checked.code, checked.stderr).toBe(4);
    expect(checked.stderr).toMatch(/lost\.bin/);

    const untouched = await fingerprint(store);
    const dry = await k(['at', store, 'repair', '-dry-run']);
    expect(dry.code, dry.stderr).toBe(4);
    expect(dry.stderr).toMatch(/lost: \/lost\.bin in snapshot/);
    expect(await fingerprint(store)).toEqual(untouched); // nothing written, no lock taken

    const repaired = await k(['at', store, 'repair', '-json']);
    expect(repaired.code, repaired.stderr).toBe(4);
    const r = jsonLines(repaired.stdout)[0]!;
    expect(r).toMatchObject({ packfiles_missing: 1, snapshots_repaired: 1, files_lost: 1, data_lost: true });
    expect(r.losses).toEqual([
      expect.objectContaining({ kind: 'file', snapshot: second.id, path: '/lost.bin' }),
    ]);
    const human = await k(['at', store, 'repair']);
    expect(human.code, human.stderr).toBe(0); // nothing left to repair
    expect(human.stdout).toMatch(/nothing to repair/);

    const clean = await k(['at', store, 'check']);
    expect(clean.code, clean.stderr).toBe(0);
    const snaps = jsonLines(ok(await k(['at', store, 'ls', '-json'])).stdout);
    expect(snaps).toHaveLength(2);
    expect(snaps.map((s) => s.tags)).toContainEqual(['repaired']);

    // The repaired snapshot restores what is left, and says what is not.
    const out1 = join(home, 'restored-repaired');
    const partial = await k(['at', store, 'restore', '-to', out1, 'latest']);
    expect(partial.code).toBe(3);
    expect(partial.stderr).toMatch(/lost\.bin.*data lost in the store \(kloset repair\)/);
    expect((await readFile(join(out1, 'kept.bin'))).equals(kept)).toBe(true);

    // The next backup reads lost.bin again; its snapshot restores byte-identical.
    const third = jsonLines(ok(await k(['at', store, 'backup', '-json', data])).stdout)[0]!.snapshot as {
      id: string;
    };
    const out2 = join(home, 'restored-new');
    ok(await k(['at', store, 'restore', '-to', out2, third.id.slice(0, 8)]));
    expect((await readFile(join(out2, 'lost.bin'))).equals(lost)).toBe(true);
    expect((await readFile(join(out2, 'kept.bin'))).equals(kept)).toBe(true);
    expect((await k(['at', store, 'check'])).code).toBe(0);
  });
});
