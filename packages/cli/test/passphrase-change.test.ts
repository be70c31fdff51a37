/**
 * `passphrase change` through the built binary, on a local store and on an S3 store (Ceph RGW):
 * afterwards the old passphrase fails in one line, the new one restores every snapshot
 * byte-identical, and no packfile, state or snapshot was rewritten (every stored object but the
 * config and locks hashed before and after). Also its refusals, each one line: a non-terminal
 * stdin with no new passphrase, both -new-keyfile and KLOSET_NEW_PASSPHRASE, the same passphrase,
 * a plaintext store; and the note about a named store whose configuration holds the old one.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { s3TestBuckets, viewObjects } from '@kloset/s3-common/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliHome, failsInOneLine, makeCliHome, ok, removeDir } from './helpers/cli-home.ts';
import { jsonLines } from './helpers/run.ts';
import { type SpawnResult, spawnCli } from './helpers/spawn.ts';
import { describeTree, makeSampleTree, type TreeItem } from './helpers/tree.ts';

const s3 = s3TestBuckets();
const OLD = 'the old passphrase';
const NEW = 'the new passphrase';

let home: CliHome;
let tree: string;

/** The built binary in the test home; AWS_* and the passphrase variables only as given. */
function k(argv: readonly string[], env: Record<string, string> = {}): Promise<SpawnResult> {
  return spawnCli(argv, {
    bin: true,
    cwd: home.work,
    timeoutMs: 180_000,
    env: {
      ...home.env,
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
      AWS_SESSION_TOKEN: undefined,
      AWS_PROFILE: undefined,
      AWS_CA_BUNDLE: undefined,
      KLOSET_NEW_PASSPHRASE: undefined,
      ...env,
    },
  });
}

/** sha256 of every file of a local store but its config, temporary files and locks. */
async function localObjects(store: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const abs = join(dir, e.name);
      const rel = relative(store, abs);
      if (e.isDirectory()) {
        if (rel !== 'locks') await walk(abs);
      } else if (rel !== 'config' && !e.name.endsWith('.tmp')) {
        out.set(
          rel,
          createHash('sha256')
            .update(await readFile(abs))
            .digest('hex'),
        );
      }
    }
  };
  await walk(store);
  return out;
}

/** sha256 of every object of an S3 store but its config and locks. */
async function bucketObjects(bucket: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const [key, view] of await viewObjects(s3.client, bucket, '')) {
    if (key !== 'config' && !key.startsWith('locks/')) out.set(key, view.sha256);
  }
  return out;
}

/** Two snapshots of the tree (a file added between them), and what each held. */
async function twoSnapshots(
  at: string,
  env: Record<string, string>,
): Promise<{ id: string; items: TreeItem[] }[]> {
  const out: { id: string; items: TreeItem[] }[] = [];
  for (const round of [1, 2]) {
    if (round === 2)
      await writeFile(join(tree, `added-${at.length}.txt`), 'added before the second backup\n');
    const r = ok(await k(['at', at, 'backup', '-json', tree], env));
    const id = (jsonLines(r.stdout)[0]!.snapshot as { id: string }).id;
    out.push({ id, items: await describeTree(tree) });
  }
  await rm(join(tree, `added-${at.length}.txt`));
  return out;
}

/**
 * The whole change on the store `at`: objects hashed before and after (`objects`), the old
 * passphrase refused, every snapshot restored with the new one and compared.
 */
async function changeAndVerify(at: string, objects: () => Promise<Map<string, string>>): Promise<void> {
  const oldEnv = { KLOSET_PASSPHRASE: OLD };
  ok(await k(['at', at, 'create'], oldEnv));
  const snapshots = await twoSnapshots(at, oldEnv);
  const before = await objects();
  expect([...before.keys()].filter((key) => key.startsWith('packfiles/')).length).toBeGreaterThan(0);
  expect([...before.keys()].filter((key) => key.startsWith('snapshots/')).length).toBe(2);

  const r = ok(
    await k(['at', at, 'passphrase', 'change', '-json'], { ...oldEnv, KLOSET_NEW_PASSPHRASE: NEW }),
  );
  expect(jsonLines(r.stdout)).toEqual([
    {
      store: expect.any(String),
      changed: true,
      kdf: { memory_kib: 65536, passes: 3, parallelism: 1 },
      configured_passphrase_outdated: false,
    },
  ]);
  expect(await objects()).toEqual(before);

  const line = failsInOneLine(await k(['at', at, 'ls'], oldEnv));
  expect(line).toMatch(/^kloset: wrong passphrase \(from KLOSET_PASSPHRASE\) for store /);
  const newEnv = { KLOSET_PASSPHRASE: NEW };
  for (const [i, snap] of snapshots.entries()) {
    const to = join(home.dir, `restored-${at.length}-${i}`);
    ok(await k(['at', at, 'restore', '-to', to, snap.id.slice(0, 12)], newEnv));
    expect(await describeTree(to)).toEqual(snap.items);
  }
  expect(jsonLines(ok(await k(['at', at, 'check', '-json'], newEnv)).stdout)[0]).toMatchObject({
    ok: true,
    snapshots: 2,
  });
}

beforeAll(async () => {
  home = await makeCliHome('passphrase-change');
  tree = join(home.dir, 'tree');
  await makeSampleTree(tree, 300_000);
}, 60_000);

afterAll(() => s3.dispose());
afterAll(() => removeDir(home?.dir));

describe('passphrase change', () => {
  it('on a local store: old passphrase refused, every snapshot restored identical, no object rewritten', async () => {
    const store = join(home.dir, 'local-store');
    await changeAndVerify(store, () => localObjects(store));
  }, 300_000);

  it('on an S3 store: the same', async () => {
    await s3.ready();
    ok(await k(['pkg', 'add', 's3']));
    const bucket = s3.name('pp-store');
    const { env } = s3;
    ok(
      await k([
        'store',
        'add',
        's3-store',
        `location=s3://${env.host}/${bucket}`,
        `access_key=${env.accessKey}`,
        `secret_access_key=${env.secretKey}`,
        'use_tls=false',
      ]),
    );
    await changeAndVerify('@s3-store', () => bucketObjects(bucket));
  }, 300_000);

  it('takes the new passphrase from -new-keyfile, and the old one from -keyfile', async () => {
    const store = join(home.dir, 'keyfile-store');
    ok(await k(['at', store, 'create'], { KLOSET_PASSPHRASE: OLD }));
    await writeFile(join(home.work, 'old.key'), `${OLD}\n`);
    await writeFile(join(home.work, 'new.key'), `${NEW}\nsecond line ignored\n`);
    const r = ok(
      await k(['at', store, 'passphrase', 'change', '-keyfile', 'old.key', '-new-keyfile', 'new.key']),
    );
    expect(r.stdout).toBe(`passphrase of store ${store} changed: the old passphrase no longer opens it\n`);
    ok(await k(['at', store, 'ls'], { KLOSET_PASSPHRASE: NEW }));
    failsInOneLine(await k(['at', store, 'ls', '-keyfile', 'old.key']));
  }, 120_000);

  it('says when the named store configuration still holds the old passphrase', async () => {
    const dir = join(home.dir, 'named-store');
    ok(await k(['store', 'add', 'named', dir, `passphrase=${OLD}`]));
    ok(await k(['at', '@named', 'create']));
    const r = ok(await k(['at', '@named', 'passphrase', 'change'], { KLOSET_NEW_PASSPHRASE: NEW }));
    expect(r.stdout).toContain('changed: the old passphrase no longer opens it\n');
    expect(r.stdout).toContain(
      "the configuration of store @named still holds the old passphrase (passphrase=): update it with 'kloset store set named passphrase=...'\n",
    );
    failsInOneLine(await k(['at', '@named', 'ls']));
    ok(await k(['store', 'set', 'named', `passphrase=${NEW}`]));
    ok(await k(['at', '@named', 'ls']));
  }, 120_000);

  it('refuses, in one line and changing nothing: no new passphrase, two of them, the same one, a plaintext store', async () => {
    const store = join(home.dir, 'refusing-store');
    ok(await k(['at', store, 'create'], { KLOSET_PASSPHRASE: OLD }));
    const config = await readFile(join(store, 'config'));
    const change = ['at', store, 'passphrase', 'change'];
    expect(failsInOneLine(await k(change, { KLOSET_PASSPHRASE: OLD }))).toBe(
      'kloset: a new passphrase is needed: set KLOSET_NEW_PASSPHRASE, pass -new-keyfile FILE, or run from a terminal to be asked',
    );
    await writeFile(join(home.work, 'x.key'), 'x\n');
    expect(
      failsInOneLine(
        await k([...change, '-new-keyfile', 'x.key'], { KLOSET_PASSPHRASE: OLD, KLOSET_NEW_PASSPHRASE: NEW }),
        2,
      ),
    ).toMatch(/^kloset: give the new passphrase one way: -new-keyfile or KLOSET_NEW_PASSPHRASE, not both/);
    expect(failsInOneLine(await k(change, { KLOSET_PASSPHRASE: OLD, KLOSET_NEW_PASSPHRASE: OLD }))).toMatch(
      /^kloset: .*the new passphrase is the same as the current one$/,
    );
    expect(
      failsInOneLine(await k(change, { KLOSET_PASSPHRASE: 'wrong', KLOSET_NEW_PASSPHRASE: NEW })),
    ).toMatch(/^kloset: wrong passphrase \(from KLOSET_PASSPHRASE\) for store /);
    expect(await readFile(join(store, 'config'))).toEqual(config);
    ok(await k(['at', store, 'ls'], { KLOSET_PASSPHRASE: OLD }));

    const plain = join(home.dir, 'plain-store');
    ok(await k(['at', plain, 'create', '-plaintext']));
    expect(
      failsInOneLine(await k(['at', plain, 'passphrase', 'change'], { KLOSET_NEW_PASSPHRASE: NEW })),
    ).toMatch(/^kloset: passphrase change: store .* is not encrypted: it has no passphrase$/);
  }, 120_000);
});
