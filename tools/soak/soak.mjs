#!/usr/bin/env node
/**
 * Soak: many runs of the built `kloset` binary against one store, with kill -9 at random (seeded)
 * points of backup, restore, rm, prune, maintenance and sync, the same scenarios as
 * packages/cli/test/reliability.test.ts for longer. Prints counts at the end: runs, kills, exit
 * codes per command, runs that ended without their line, check results, lost snapshots and restore
 * mismatches. Exits 1 if anything went wrong.
 *
 *   node tools/soak/soak.mjs [-n ITERATIONS] [-store local|s3] [-seed N] [-kill-ratio R] [-keep]
 *
 * Needs Node 24 and a build (npx nx run-many -t build). -store s3 reads the server from
 * $KLOSET_S3_ENV (as the tests do) and installs the s3 package into the soak's own home.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../packages/cli/bin/kloset.js', import.meta.url));

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`-${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const ITERATIONS = Number(opt('n', '300'));
const KIND = opt('store', 'local');
const SEED = Number(opt('seed', String(randomInt(2 ** 31))));
const KILL_RATIO = Number(opt('kill-ratio', '0.3'));
const KEEP = args.includes('-keep');
const PASS = 'soak passphrase';

function seeded(seed) {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = seeded(SEED);
const between = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));
const pick = (list) => list[Math.floor(random() * list.length)];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const LINES = {
  create: /^created encrypted store at /m,
  backup: /^snapshot ([0-9a-f]{8}) of .+: [\d,]+ files, .* in [\d.]+s$/m,
  restore: /^restored [\d,]+ entries .* to .+$/m,
  sync: /^synced .+: [\d,]+ copied, [\d,]+ already there, .+ stored$/m,
  rm: /^removed snapshot [0-9a-f]{8}$/m,
  prune: /^kept [\d,]+ snapshots, removed [\d,]+(?: \(run maintenance to reclaim their space\))?$/m,
  maintenance: /^deleted [\d,]+ unused packfiles \([^)]+\)(, [\d,]+ left by an interrupted run)?$/m,
  check: /^check: [\d,]+ snapshots, [\d,]+ entries, [\d,]+ blobs: ok$/m,
};

const counts = {
  seed: SEED,
  store: KIND,
  iterations: ITERATIONS,
  runs: 0,
  kills: 0,
  endedBeforeKill: 0,
  exitCodes: {},
  withoutLine: 0,
  exit13: 0,
  unexpectedExit: 0,
  checks: { ok: 0, failed: 0 },
  restores: { identical: 0, mismatched: 0, failed: 0 },
  lostSnapshots: 0,
  unknownSnapshots: 0,
};
const failures = [];

function note(what) {
  failures.push(what);
  console.log(`  !! ${what}`);
}

// ---------------------------------------------------------------------------------------------
// Running the binary, killing it

const home = await mkdtemp(join(tmpdir(), 'kloset-soak-'));
const env = { ...process.env };
for (const key of Object.keys(env)) if (key.startsWith('AWS_') || key.startsWith('KLOSET_')) delete env[key];
Object.assign(env, {
  HOME: home,
  XDG_CONFIG_HOME: join(home, 'config'),
  XDG_DATA_HOME: join(home, 'data'),
  XDG_CACHE_HOME: join(home, 'cache'),
  KLOSET_PASSPHRASE: PASS,
  NODE_OPTIONS: '',
});

async function descendants(pid) {
  let kids;
  try {
    kids = (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8'))
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
  const all = [...kids];
  for (const kid of kids) all.push(...(await descendants(kid)));
  return all;
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Runs kloset ARGV; with `killAfterMs`, SIGKILLs its whole process tree then. */
async function kloset(argv, { killAfterMs, more = {} } = {}) {
  const child = spawn(process.execPath, [BIN, ...argv], {
    cwd: home,
    env: { ...env, ...more },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  let done = false;
  const closed = new Promise((resolve) =>
    child.on('close', (code, signal) => {
      done = true;
      resolve({ code, signal });
    }),
  );
  const hang = setTimeout(() => child.kill('SIGKILL'), 600_000);
  let tree = [];
  if (killAfterMs !== undefined) {
    await Promise.race([sleep(killAfterMs), closed]);
    if (!done) {
      tree = [child.pid, ...(await descendants(child.pid))];
      for (const p of tree) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {}
      }
    }
  }
  const { code, signal } = await closed;
  clearTimeout(hang);
  while (tree.some(alive)) await sleep(20);
  return { code, signal, stdout, stderr, killed: signal === 'SIGKILL' && killAfterMs !== undefined };
}

/**
 * A run of COMMAND counted: a kill, or an ending that must be `expect` (0 by default) with the
 * command's line (stdout) or one `kloset: ` line (stderr).
 */
async function counted(command, argv, { kill = false, expect = [0], more } = {}) {
  const killAfterMs = kill ? between(50, 800) : undefined;
  const r = await kloset(argv, { killAfterMs, more });
  counts.runs++;
  if (r.killed) {
    counts.kills++;
    return r;
  }
  if (kill) counts.endedBeforeKill++;
  const key = `${command} ${r.code ?? r.signal}`;
  counts.exitCodes[key] = (counts.exitCodes[key] ?? 0) + 1;
  if (r.code === 13) counts.exit13++;
  const hasLine = r.code === 0 ? LINES[command].test(r.stdout) : /^kloset: .+$/m.test(r.stderr);
  if (!hasLine) {
    counts.withoutLine++;
    note(
      `kloset ${argv.join(' ')}: exit ${r.code ?? r.signal} without its line; stdout ${JSON.stringify(r.stdout.slice(-300))} stderr ${JSON.stringify(r.stderr.slice(-300))}`,
    );
  }
  if (!expect.includes(r.code)) {
    counts.unexpectedExit++;
    note(`kloset ${argv.join(' ')}: exit ${r.code ?? r.signal}: ${r.stderr.trim().slice(-400)}`);
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// The store, the data and what each snapshot holds

let store = join(home, 'store');
let peer = join(home, 'peer');
/** Removes what the soak made outside its home (the S3 store's buckets). */
let cleanUp = async () => {};
if (KIND === 's3') {
  const file = process.env.KLOSET_S3_ENV ?? '/tmp/kloset-rgw/env';
  const vars = {};
  for (const m of (await readFile(file, 'utf8')).matchAll(/^(?:export )?(\w+)=(.*)$/gm))
    vars[m[1]] = m[2].replace(/^['"]|['"]$/g, '');
  const endpoint = new URL(vars.S3_ENDPOINT);
  const secret = vars.AWS_SECRET_ACCESS_KEY;
  const creds = (bucket) => [
    `location=s3://${endpoint.host}/${bucket}`,
    `access_key=${vars.AWS_ACCESS_KEY_ID}`,
    `secret_access_key=${secret}`,
    `use_tls=${endpoint.protocol === 'https:'}`,
  ];
  const suffix = randomBytes(4).toString('hex');
  for (const argv of [
    ['pkg', 'add', 's3'],
    ['store', 'add', 'soak', ...creds(`kloset-soak-${suffix}`)],
    ['store', 'add', 'soak-peer', ...creds(`kloset-soak-peer-${suffix}`)],
  ]) {
    const r = await kloset(argv);
    if (r.code !== 0) throw new Error(`kloset ${argv[0]} ${argv[1]}: exit ${r.code}: ${r.stderr}`);
  }
  store = '@soak';
  peer = '@soak-peer';
  cleanUp = async () => {
    const s3 = await import('@aws-sdk/client-s3');
    const client = new s3.S3Client({
      endpoint: vars.S3_ENDPOINT,
      region: vars.AWS_REGION ?? 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: vars.AWS_ACCESS_KEY_ID, secretAccessKey: secret },
    });
    for (const Bucket of [`kloset-soak-${suffix}`, `kloset-soak-peer-${suffix}`]) {
      try {
        const uploads = await client.send(new s3.ListMultipartUploadsCommand({ Bucket }));
        for (const u of uploads.Uploads ?? []) {
          await client.send(new s3.AbortMultipartUploadCommand({ Bucket, Key: u.Key, UploadId: u.UploadId }));
        }
        let token;
        do {
          const page = await client.send(new s3.ListObjectsV2Command({ Bucket, ContinuationToken: token }));
          const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key }));
          if (keys.length > 0)
            await client.send(new s3.DeleteObjectsCommand({ Bucket, Delete: { Objects: keys } }));
          token = page.NextContinuationToken;
        } while (token);
        await client.send(new s3.DeleteBucketCommand({ Bucket }));
      } catch (err) {
        console.log(`could not delete bucket ${Bucket}: ${err.message}`);
      }
    }
    client.destroy();
  };
}
const at = (where, ...argv) => ['at', where, ...argv];

const src = join(home, 'src');
await mkdir(src);
const FILES = 16;
for (let i = 0; i < FILES; i++) await writeFile(join(src, `f${i}.bin`), randomBytes(between(1, 512) * 1024));

async function manifest(dir) {
  const out = {};
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const path = join(e.parentPath, e.name).slice(dir.length + 1);
    out[path] = createHash('sha256')
      .update(await readFile(join(dir, path)))
      .digest('hex');
  }
  return out;
}
const same = (a, b) => JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

/** short id -> the source's manifest when it was backed up. */
const snapshots = new Map();

async function listed(where = store) {
  const r = await kloset(at(where, 'ls', '-json'));
  if (r.code !== 0) {
    note(`ls of ${where}: exit ${r.code}: ${r.stderr.trim()}`);
    return null;
  }
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .sort((a, b) => a.time.localeCompare(b.time))
    .map((s) => s.short_id);
}

/** The store lists every snapshot expected; new ones (a killed backup committed) get `current`. */
async function reconcile(current, where = store) {
  const ids = await listed(where);
  if (ids === null) return [];
  for (const id of snapshots.keys()) {
    if (!ids.includes(id) && where === store) {
      counts.lostSnapshots++;
      note(`snapshot ${id} is gone from ${where}`);
      snapshots.delete(id);
    }
  }
  for (const id of ids) {
    if (snapshots.has(id)) continue;
    if (current) snapshots.set(id, current);
    else if (where === store) {
      counts.unknownSnapshots++;
      note(`snapshot ${id} in ${where} comes from nowhere`);
    }
  }
  return ids;
}

async function checkFresh(where = store) {
  const cache = join(home, `cache-${randomBytes(4).toString('hex')}`);
  const r = await counted('check', at(where, 'check'), { more: { XDG_CACHE_HOME: cache } });
  await rm(cache, { recursive: true, force: true });
  if (r.code === 0) counts.checks.ok++;
  else {
    counts.checks.failed++;
    note(`check of ${where} with an empty cache: exit ${r.code}: ${r.stderr.trim().slice(-600)}`);
  }
}

async function restoreCompare(where, id, to = join(home, `restored-${randomBytes(4).toString('hex')}`)) {
  const r = await counted('restore', at(where, 'restore', '-to', to, id));
  if (r.code !== 0) counts.restores.failed++;
  else if (same(await manifest(to), snapshots.get(id))) counts.restores.identical++;
  else {
    counts.restores.mismatched++;
    note(`snapshot ${id} restored from ${where} differs from its source`);
  }
  await rm(to, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// The iterations

const started = Date.now();
console.log(
  `soak: ${ITERATIONS} iterations, ${KIND} store, seed ${SEED} (replay: -seed ${SEED}), home ${home}`,
);
await counted('create', at(store, 'create'));
await counted('create', at(peer, 'create'));

const OPS = [
  ['backup', 60],
  ['restore', 8],
  ['rm', 8],
  ['prune', 6],
  ['maintenance', 10],
  ['sync', 8],
];
const weight = OPS.reduce((n, [, w]) => n + w, 0);
const histogram = {};

for (let i = 1; i <= ITERATIONS; i++) {
  let x = random() * weight;
  let op = OPS[0][0];
  for (const [name, w] of OPS) {
    x -= w;
    if (x < 0) {
      op = name;
      break;
    }
  }
  if (snapshots.size < 3 && op !== 'backup') op = 'backup';
  const kill = random() < KILL_RATIO;
  histogram[op] = (histogram[op] ?? 0) + 1;
  const ids = [...snapshots.keys()];
  switch (op) {
    case 'backup': {
      for (let n = between(1, 3); n > 0; n--) {
        await writeFile(join(src, `f${between(0, FILES + 3)}.bin`), randomBytes(between(1, 512) * 1024));
      }
      const current = await manifest(src);
      const r = await counted('backup', at(store, 'backup', src), { kill });
      if (r.killed) {
        await reconcile(current);
        await counted('backup', at(store, 'backup', src));
      }
      await reconcile(current);
      break;
    }
    case 'restore': {
      const id = pick(ids);
      const to = join(home, 'restore-target');
      if (kill) await counted('restore', at(store, 'restore', '-to', to, id), { kill });
      // Into the directory the killed run wrote to: the next run must restore the same tree there.
      await restoreCompare(store, id, to);
      break;
    }
    case 'rm': {
      const victim = pick(ids.slice(0, -1));
      const r = await counted('rm', at(store, 'rm', victim), { kill });
      if (r.killed) {
        const now = await listed();
        if (now?.includes(victim)) await counted('rm', at(store, 'rm', victim));
      }
      snapshots.delete(victim);
      await reconcile(null);
      break;
    }
    case 'prune': {
      const keep = between(3, 8);
      const argv = at(store, 'prune', '-group-by', 'none', '-keep-last', String(keep));
      const r = await counted('prune', argv, { kill });
      if (r.killed) await counted('prune', argv);
      for (const id of ids.slice(0, Math.max(0, ids.length - keep))) snapshots.delete(id);
      await reconcile(null);
      break;
    }
    case 'maintenance': {
      const argv = at(store, 'maintenance', '-grace', '0s');
      const r = await counted('maintenance', argv, { kill });
      if (r.killed) await counted('maintenance', argv);
      await reconcile(null);
      break;
    }
    case 'sync': {
      const argv = at(store, 'sync', '-to', peer);
      const r = await counted('sync', argv, { kill });
      if (r.killed) await counted('sync', argv);
      break;
    }
  }
  if (i % 25 === 0 || i === ITERATIONS) {
    await checkFresh();
    const sample = i === ITERATIONS ? [...snapshots.keys()] : [pick([...snapshots.keys()])];
    for (const id of sample) await restoreCompare(store, id);
    const s = Math.round((Date.now() - started) / 1000);
    console.log(
      `[${i}/${ITERATIONS}] ${s}s runs ${counts.runs} kills ${counts.kills} snapshots ${snapshots.size} problems ${failures.length}`,
    );
  }
}

// The copy made by sync: checks clean, and what it holds of the known snapshots restores identical.
await counted('sync', at(store, 'sync', '-to', peer));
await checkFresh(peer);
const copied = (await listed(peer)) ?? [];
for (const id of copied.filter((id) => snapshots.has(id))) await restoreCompare(peer, id);

counts.seconds = Math.round((Date.now() - started) / 1000);
counts.operations = histogram;
counts.problems = failures.length;
console.log('\nsoak counts:');
console.log(`  seed ${SEED}, ${KIND} store, ${ITERATIONS} iterations, ${counts.seconds} s`);
console.log(
  `  operations: ${Object.entries(histogram)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}`,
);
console.log(
  `  runs ${counts.runs}, killed ${counts.kills} (and ${counts.endedBeforeKill} ended before their kill point)`,
);
console.log('  exit codes (runs not killed):');
for (const [k, v] of Object.entries(counts.exitCodes).sort()) console.log(`    ${k.padEnd(16)} ${v}`);
console.log(
  `  ended without their line: ${counts.withoutLine}; exit 13: ${counts.exit13}; unexpected exit codes: ${counts.unexpectedExit}`,
);
console.log(`  check with an empty cache: ${counts.checks.ok} ok, ${counts.checks.failed} failed`);
console.log(
  `  restores: ${counts.restores.identical} identical, ${counts.restores.mismatched} mismatched, ${counts.restores.failed} failed`,
);
console.log(`  snapshots lost: ${counts.lostSnapshots}; from nowhere: ${counts.unknownSnapshots}`);
console.log(`  problems: ${failures.length}`);
for (const f of failures) console.log(`    ${f}`);
console.log(JSON.stringify(counts));
if (!KEEP) {
  await rm(home, { recursive: true, force: true });
  await cleanUp();
} else console.log(`kept ${home} (and its buckets, with -store s3)`);
process.exit(failures.length > 0 ? 1 : 0);
