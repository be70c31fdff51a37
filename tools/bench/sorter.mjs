// The external sorter (kloset-core/src/snapshot/external-sorter.ts) on 1M backup-like records
// (a 40-70 byte path key, an 80-byte value) added in a shuffled order, with a memory budget that
// forces spills: time to add (sorting and spilling runs), time to read them back merged, bytes
// spilled, CPU time, peak RSS. Arguments: records (default 1,000,000), budgets in MiB (default 8 and 64),
// rounds (default 3; the median is printed with the spread). SORTER=FILE benchmarks another copy
// of external-sorter.ts (e.g. `git show REV:packages/kloset-core/src/snapshot/external-sorter.ts`).
//   node tools/bench/sorter.mjs [RECORDS] [MIB,MIB] [ROUNDS]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const { ExternalSorter } = await import(
  process.env.SORTER
    ? pathToFileURL(resolve(process.env.SORTER)).href
    : '../../packages/kloset-core/src/snapshot/external-sorter.ts'
);

const records = Number(process.argv[2] ?? 1_000_000);
const budgets = (process.argv[3] ?? '8,64').split(',').map(Number);
const rounds = Number(process.argv[4] ?? 3);

function order(n) {
  const a = Array.from({ length: n }, (_, i) => i);
  let s = 7;
  for (let i = n - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = s % (i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

const value = Buffer.alloc(80, 0x5a);
const keyOf = (i) =>
  Buffer.from(`home/user/projects/dir-${i % 997}/sub-${i % 13}/file-${i}.dat`.slice(0, 40 + (i % 31)));
const shuffled = order(records);
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const span = (xs) => `${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)}`;

for (const mib of budgets) {
  const adds = [];
  const reads = [];
  const cpus = [];
  let spilled = 0;
  let runs = 0;
  let peak = 0;
  for (let r = 0; r < rounds; r++) {
    const dir = await mkdtemp(join(tmpdir(), 'kloset-sorter-bench-'));
    const watch = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    try {
      const s = new ExternalSorter({ tempDir: dir, memoryBytes: mib * 1024 * 1024 });
      const cpu = process.cpuUsage();
      let t = performance.now();
      for (const i of shuffled) await s.add(keyOf(i), value);
      adds.push((performance.now() - t) / 1000);
      t = performance.now();
      let n = 0;
      let prev;
      for await (const rec of s.sorted()) {
        if (prev !== undefined && Buffer.compare(prev, rec.key) > 0) throw new Error('out of order');
        prev = rec.key;
        n++;
      }
      reads.push((performance.now() - t) / 1000);
      const used = process.cpuUsage(cpu);
      cpus.push((used.user + used.system) / 1e6);
      if (n !== records) throw new Error(`${n} records back of ${records}`);
      spilled = s.spilledBytes;
      runs = s.runsWritten;
    } finally {
      clearInterval(watch);
      await rm(dir, { recursive: true, force: true });
    }
  }
  const total = adds.map((a, i) => a + reads[i]);
  console.log(
    `${records} records, ${mib} MiB: add ${median(adds).toFixed(2)} s (${span(adds)}), sorted ${median(reads).toFixed(2)} s (${span(reads)}), total ${median(total).toFixed(2)} s (${span(total)}), CPU ${median(cpus).toFixed(2)} s (${span(cpus)}); ${runs} runs, ${(spilled / 1e6).toFixed(1)} MB spilled, peak RSS ${(peak / 1e6).toFixed(0)} MB`,
  );
}
