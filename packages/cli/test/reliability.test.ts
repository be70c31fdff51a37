/**
 * `kill -9` at random points of backup, restore, sync, rm, prune and maintenance, through the built
 * binary, on a local store and on an S3 store (Ceph RGW), and what the user sees afterwards: the
 * next run of the same command exits 0 with its result line; `check` with an empty cache exits 0;
 * no snapshot that existed before a killed rm, prune or maintenance of other snapshots is gone;
 * every snapshot listed restores identical to its source. Then 30 small backups in a row, each
 * ending with exit 0 and its line (a lost wake-up ended runs with exit 13 and nothing printed).
 *
 * The kill points are random but seeded: the seed is printed first, and
 * KLOSET_RELIABILITY_SEED=N replays a run. The whole process tree is killed (bin/kloset.js runs the
 * data commands in a child), as the OOM killer or a power cut would. crash.test.ts covers a kill
 * once a backup has written packfiles; damaged-store.test.ts covers stores damaged by hand.
 * tools/soak/soak.mjs runs the same scenarios for longer.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { mkdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { s3TestBuckets } from '@kloset/s3-common/testing';
import { describe, expect, it } from 'vitest';
import { type CliHome, klosetIn, makeCliHome, ok, removeDir } from './helpers/cli-home.ts';
import { jsonLines } from './helpers/run.ts';
import { type SpawnResult, spawnCli } from './helpers/spawn.ts';
import { describeTree, makeBigTree } from './helpers/tree.ts';

const SEED = Number(process.env.KLOSET_RELIABILITY_SEED ?? randomInt(2 ** 31));
console.log(`reliability.test.ts seed ${SEED} (replay: KLOSET_RELIABILITY_SEED=${SEED})`);
const PASS = 'reliability passphrase';
const KiB = 1024;

/** mulberry32: a small seeded generator, so a failing run's kill points can be replayed. */
function seeded(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The processes below `pid` (none since bin/kloset.js re-executes itself in place; kept for older launchers). */
async function descendants(pid: number): Promise<number[]> {
  let kids: number[];
  try {
    const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
    kids = text.split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
  const all = [...kids];
  for (const kid of kids) all.push(...(await descendants(kid)));
  return all;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Killed {
  readonly result: SpawnResult;
  /** False when the command ended before the kill point. */
  readonly killed: boolean;
  readonly afterMs: number;
}

/** Runs `argv` and SIGKILLs its whole process tree after `afterMs`; waits until all of it is gone. */
async function killAfter(
  home: CliHome,
  env: Record<string, string>,
  argv: readonly string[],
  afterMs: number,
): Promise<Killed> {
  let pid = 0;
  const running = spawnCli(argv, {
    bin: true,
    cwd: home.work,
    env: { ...home.env, ...env },
    timeoutMs: 120_000,
    onSpawn: (p) => {
      pid = p;
    },
  });
  let done = false;
  void running.then(() => {
    done = true;
  });
  await sleep(afterMs);
  let tree: number[] = [];
  if (!done) {
    tree = [pid, ...(await descendants(pid))];
    for (const p of tree) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  const result = await running;
  const deadline = Date.now() + 10_000;
  while (tree.some(alive)) {
    if (Date.now() > deadline) throw new Error(`processes ${tree.filter(alive).join(' ')} outlived SIGKILL`);
    await sleep(20);
  }
  const killed = result.signal === 'SIGKILL';
  console.log(
    `  ${argv.join(' ')}: ${killed ? `killed after ${afterMs} ms` : `ended (exit ${result.code}) before ${afterMs} ms`}`,
  );
  return { result, killed, afterMs };
}

/** A run that ended on its own: exit `code` with its result line, and no stack trace. */
function ended(r: SpawnResult, line: RegExp, code = 0): RegExpMatchArray {
  expect(r.timedOut, 'timed out').toBe(false);
  expect(r.signal, `signal ${r.signal}`).toBe(null);
  expect(r.code, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(code);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  const m = r.stdout.match(line);
  expect(m, `no line ${line} in: ${r.stdout}\nstderr: ${r.stderr}`).not.toBeNull();
  return m!;
}

const BACKUP_LINE = /^snapshot ([0-9a-f]{8}) of .+: [\d,]+ files, .* in [\d.]+s$/m;
const RESTORE_LINE = /^restored ([\d,]+) entries .* to .+$/m;
const SYNC_LINE = /^synced .+: (\d+) copied, (\d+) already there, .+ stored$/m;
const RM_LINE = /^removed snapshot ([0-9a-f]{8})$/m;
const PRUNE_LINE = /^kept (\d+) snapshots, removed (\d+)(?: \(run maintenance to reclaim their space\))?$/m;
// A run after one killed while deleting also says what that run had left (`, 2 left by an interrupted run`).
const MAINTENANCE_LINE = /^deleted [\d,]+ unused packfiles \([^)]+\)(, [\d,]+ left by an interrupted run)?$/m;
const CHECK_LINE = /^check: (\d+) snapshots, [\d,]+ entries, [\d,]+ blobs: ok$/m;

interface Target {
  readonly name: string;
  /** `at STORE` and `at PEER` (the destination of sync). */
  readonly store: string;
  readonly peer: string;
  readonly setup: (home: CliHome, k: ReturnType<typeof klosetIn>) => Promise<void>;
  readonly teardown: () => Promise<void>;
}

const s3 = s3TestBuckets();

function creds(bucket: string): string[] {
  const { env } = s3;
  return [
    `location=s3://${env.host}/${bucket}`,
    `access_key=${env.accessKey}`,
    `secret_access_key=${env.secretKey}`,
    'use_tls=false',
  ];
}

const targets: Target[] = [
  {
    name: 'a local store',
    store: 'STORE_DIR',
    peer: 'PEER_DIR',
    setup: async () => {},
    teardown: async () => {},
  },
  {
    name: 'an S3 store',
    store: '@rel-store',
    peer: '@rel-peer',
    setup: async (_home, k) => {
      await s3.ready();
      ok(await k(['pkg', 'add', 's3']));
      ok(await k(['store', 'add', 'rel-store', ...creds(s3.name('rel-store'))]));
      ok(await k(['store', 'add', 'rel-peer', ...creds(s3.name('rel-peer'))]));
    },
    teardown: () => s3.dispose(),
  },
];

/** Runs one part of a scenario; a failure names it. */
async function step(name: string, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (err) {
    if (err instanceof Error) err.message = `${name}: ${err.message}`;
    throw err;
  }
}

// The two stores and the backups in a row run side by side (most of the time is process start-up).
describe.concurrent('kill -9 at random points', () => {
  for (const target of targets) {
    it(`of backup, restore, sync, rm, prune and maintenance, ${target.name}`, {
      timeout: 240_000,
    }, async () => {
      const random = seeded(SEED ^ (target.store.length * 7919));
      const between = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
      let home: CliHome;
      let k: ReturnType<typeof klosetIn>;
      let store: string;
      let peer: string;
      /** Every snapshot the store should hold (short id -> the directory it is a backup of). */
      const sources = new Map<string, string>();
      let dirs = 0;
      /** Commands killed before they ended (the others ended before their kill point). */
      let kills = 0;

      const at = (where: string, ...argv: string[]) => ['at', where, ...argv];
      const fresh = (argv: readonly string[]) =>
        k(argv, { XDG_CACHE_HOME: join(home.dir, `cache-${dirs++}-${randomInt(1e9)}`) });

      /** A new directory of `files` random files of `size` bytes, with a subdirectory and a symlink. */
      async function newDir(files: number, size: number): Promise<string> {
        const dir = join(home.dir, 'data', `d${dirs++}`);
        await makeBigTree(dir, files, size, 3);
        await writeFile(join(dir, 'small.txt'), `dir ${dirs}\n`);
        await utimes(join(dir, 'small.txt'), 1_600_000_000, 1_600_000_000);
        return dir;
      }

      async function listed(where = store): Promise<Map<string, string[]>> {
        const r = await k(at(where, 'ls', '-json'));
        expect(r.code, r.stderr).toBe(0);
        return new Map(jsonLines(r.stdout).map((s) => [s.short_id as string, s.tags as string[]]));
      }

      /** Runs `argv`, kill -9 after 50-800 ms; one that ended first must have ended well. */
      async function kill9(argv: readonly string[], line: RegExp): Promise<boolean> {
        const { result, killed } = await killAfter(home, { KLOSET_PASSPHRASE: PASS }, argv, between(50, 800));
        if (!killed) ended(result, line);
        else kills++;
        return killed;
      }

      /** Snapshots new in the store (a killed backup may have committed one) are backups of `dir`. */
      async function adopt(dir: string): Promise<string[]> {
        const added = [...(await listed()).keys()].filter((id) => !sources.has(id));
        for (const id of added) sources.set(id, dir);
        return added;
      }

      async function backup(dir: string, ...flags: string[]): Promise<string> {
        const id = ended(await k(at(store, 'backup', ...flags, dir)), BACKUP_LINE)[1]!;
        sources.set(id, dir);
        return id;
      }

      /** `check` with an empty cache exits 0, counting `count` snapshots. */
      async function checkClean(where: string, count: number): Promise<void> {
        const m = ended(await fresh(at(where, 'check')), CHECK_LINE);
        expect(Number(m[1])).toBe(count);
      }

      async function restoresIdentical(where: string, id: string, dir: string): Promise<void> {
        const to = join(home.dir, 'restored', `r${dirs++}`);
        ended(await k(at(where, 'restore', '-to', to, id)), RESTORE_LINE);
        expect(await describeTree(to), `snapshot ${id} restored from ${where}`).toEqual(
          await describeTree(dir),
        );
        await rm(to, { recursive: true, force: true });
      }

      /** The store lists exactly the snapshots expected, checks clean from scratch, and restores them. */
      async function verify(where = store, restoreAll = true): Promise<void> {
        const ids = [...(await listed(where)).keys()].sort();
        expect(ids).toEqual([...sources.keys()].sort());
        await checkClean(where, ids.length);
        if (restoreAll) for (const id of ids) await restoresIdentical(where, id, sources.get(id)!);
      }

      home = await makeCliHome('reliability');
      try {
        k = klosetIn(home, { KLOSET_PASSPHRASE: PASS });
        store = target.store === 'STORE_DIR' ? join(home.dir, 'store') : target.store;
        peer = target.peer === 'PEER_DIR' ? join(home.dir, 'peer') : target.peer;
        await target.setup(home, k);
        ok(await k(at(store, 'create')));

        await step(
          'backup: killed at random, the next run ends with its line; all snapshots restore',
          async () => {
            await backup(await newDir(6, 50 * KiB));
            for (let round = 0; round < 3; round++) {
              const dir = await newDir(24, 192 * KiB);
              await kill9(at(store, 'backup', dir), BACKUP_LINE);
              await adopt(dir);
              await backup(dir);
            }
            // Restored at the end of the maintenance test, after all the kills.
            await verify(store, false);
          },
        );

        await step(
          'restore: killed at random into a directory, the next run into it restores the same tree',
          async () => {
            const [id, dir] = [...sources].at(-1)!;
            const to = join(home.dir, 'restore-target');
            for (let round = 0; round < 2; round++) {
              await kill9(at(store, 'restore', '-to', to, id), RESTORE_LINE);
            }
            ended(await k(at(store, 'restore', '-to', to, id)), RESTORE_LINE);
            expect(await describeTree(to)).toEqual(await describeTree(dir));
          },
        );

        await step(
          'sync: killed at random, the next run copies the rest; the copy checks clean and restores',
          async () => {
            ok(await k(at(peer, 'create')));
            for (let round = 0; round < 2; round++) {
              await kill9(at(store, 'sync', '-to', peer), SYNC_LINE);
            }
            const m = ended(await k(at(store, 'sync', '-to', peer)), SYNC_LINE);
            expect(Number(m[1]) + Number(m[2])).toBe(sources.size);
            await verify(peer);
            // Nothing was lost from the source of the sync either.
            expect([...(await listed()).keys()].sort()).toEqual([...sources.keys()].sort());
          },
        );

        await step(
          'rm: killed at random while removing one snapshot, no other snapshot is lost',
          async () => {
            for (let round = 0; round < 2; round++) {
              const victim = await backup(await newDir(3, 10 * KiB));
              const before = new Set(sources.keys());
              await kill9(at(store, 'rm', victim), RM_LINE);
              const now = await listed();
              for (const id of before)
                if (id !== victim) expect(now.has(id), `snapshot ${id} lost`).toBe(true);
              const again = await k(at(store, 'rm', victim));
              if (now.has(victim)) expect(ended(again, RM_LINE)[1]).toBe(victim);
              else {
                // Removed before the kill: the rerun names what it cannot find, in one line.
                expect(again.code).toBe(1);
                expect(again.stderr).toBe(`kloset: no snapshot matches "${victim}"\n`);
              }
              sources.delete(victim);
              expect([...(await listed()).keys()].sort()).toEqual([...sources.keys()].sort());
            }
            await checkClean(store, sources.size);
          },
        );

        await step(
          'prune: killed at random while removing tagged snapshots, no other snapshot is lost',
          async () => {
            for (let round = 0; round < 2; round++) {
              const tag = `prune-${round}`;
              const tagged: string[] = [];
              for (let i = 0; i < 3; i++) tagged.push(await backup(await newDir(2, 8 * KiB), '-tag', tag));
              const keep = tagged.at(-1)!;
              await kill9(
                at(store, 'prune', '-group-by', 'none', '-tag', tag, '-keep-last', '1'),
                PRUNE_LINE,
              );
              const now = await listed();
              for (const id of sources.keys()) {
                if (!tagged.includes(id) || id === keep)
                  expect(now.has(id), `snapshot ${id} lost`).toBe(true);
              }
              const left = tagged.filter((id) => id !== keep && now.has(id)).length;
              const m = ended(
                await k(at(store, 'prune', '-group-by', 'none', '-tag', tag, '-keep-last', '1')),
                PRUNE_LINE,
              );
              expect([Number(m[1]), Number(m[2])]).toEqual([1, left]);
              for (const id of tagged) if (id !== keep) sources.delete(id);
              expect([...(await listed()).keys()].sort()).toEqual([...sources.keys()].sort());
            }
            await checkClean(store, sources.size);
          },
        );

        await step(
          'maintenance: killed at random while deleting unused data, every snapshot still restores',
          async () => {
            for (let round = 0; round < 2; round++) {
              // Something for it to delete: a snapshot of its own data, removed.
              const gone = await backup(await newDir(8, 200 * KiB));
              ended(await k(at(store, 'rm', gone)), RM_LINE);
              sources.delete(gone);
              await kill9(at(store, 'maintenance', '-grace', '0s'), MAINTENANCE_LINE);
              expect([...(await listed()).keys()].sort()).toEqual([...sources.keys()].sort());
              ended(await k(at(store, 'maintenance', '-grace', '0s')), MAINTENANCE_LINE);
            }
            await verify();
          },
        );
        // Most of the 13 kill points fall before the command ends (a start-up alone takes longer).
        await step('kills', async () => {
          expect(kills).toBeGreaterThanOrEqual(7);
        });
      } finally {
        await target.teardown();
        await removeDir(home.dir);
      }
    });
  }

  it('and 30 small backups in a row through the binary each exit 0 with their line', {
    timeout: 180_000,
  }, async () => {
    const home = await makeCliHome('reliability-row');
    try {
      const k = klosetIn(home, { KLOSET_PASSPHRASE: PASS });
      const store = join(home.dir, 'store');
      const dir = join(home.dir, 'data');
      await mkdir(dir);
      for (let i = 0; i < 8; i++) await writeFile(join(dir, `f${i}.bin`), randomBytes(4 * KiB));
      ok(await k(['at', store, 'create']));
      const codes: (number | null)[] = [];
      for (let i = 0; i < 30; i++) {
        await writeFile(join(dir, `f${i % 8}.bin`), randomBytes(4 * KiB + i));
        const r = await k(['at', store, 'backup', dir]);
        codes.push(r.code);
        expect(
          r.code,
          `backup ${i + 1} of 30: exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`,
        ).toBe(0);
        expect(r.stdout).toMatch(BACKUP_LINE);
      }
      expect(codes).toEqual(Array(30).fill(0));
      expect(jsonLines((await k(['at', store, 'ls', '-json'])).stdout)).toHaveLength(30);
    } finally {
      await removeDir(home.dir);
    }
  });
});
