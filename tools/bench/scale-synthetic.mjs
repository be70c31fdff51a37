#!/usr/bin/env node
// The engine alone at sizes no file system here holds (10M files of 100 bytes need 10M inodes and
// 40 GB of blocks): a first backup of N generated files (100 bytes each, all different, folders of
// 1,000, in the order a directory walk yields them) into a new local store, through @kloset/core
// as the CLI drives it. Prints, every 1M entries and at the end: entries, wall and CPU seconds, and
// the peak RSS so far (the whole process: worker threads and native memory included).
//   node --conditions=kloset-source --heap-growing-percent=50 tools/bench/scale-synthetic.mjs N DIR
// (the flag is the one the kloset launcher adds). DIR is emptied first; the store and the index
// cache go there.
import { readFileSync, rmSync } from 'node:fs';
import { FsStorage } from '@kloset/connector-fs';
import { backup, Repository } from '@kloset/core';

const [count, dir] = process.argv.slice(2);
const n = Number(count);
if (!Number.isInteger(n) || n < 1 || !dir) {
  console.error('usage: node --conditions=kloset-source tools/bench/scale-synthetic.mjs N DIR');
  process.exit(2);
}
rmSync(dir, { recursive: true, force: true });

const hwmMiB = () =>
  Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'latin1'))?.[1] ?? 0) / 1024;
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const line = (entries) => {
  const cpu = process.cpuUsage(cpu0);
  const wall = (performance.now() - t0) / 1000;
  console.log(
    `${entries}\tentries\t${wall.toFixed(1)} s\tCPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s` +
      `\t(${(((cpu.user + cpu.system) / Math.max(1, entries)) | 0).toString()} us/entry)\tpeak RSS ${hwmMiB().toFixed(0)} MB`,
  );
};

const MTIME = { sec: 1_700_000_000, nsec: 0 };
const body = (i) => new TextEncoder().encode(`entry ${i} `.repeat(20).slice(0, 100));
function fileRecord(path, i) {
  return {
    path,
    type: 'file',
    size: 100,
    mtime: MTIME,
    mode: 0o644,
    metadata: {},
    changeToken: `synthetic:${i}`,
    open: async () =>
      (async function* () {
        yield body(i);
      })(),
  };
}
const dirRecord = (path) => ({ path, type: 'directory', size: 0, mtime: MTIME, mode: 0o755, metadata: {} });

/** N files in folders of 1,000, generated as they are scanned (nothing held). */
const source = {
  info: { protocol: 'synthetic', origin: 'synthetic', root: '/' },
  async *scan() {
    yield dirRecord('/');
    for (let i = 0; i < n; i++) {
      const folder = `/d${String(Math.floor(i / 1000)).padStart(5, '0')}`;
      if (i % 1000 === 0) yield dirRecord(folder);
      yield fileRecord(`${folder}/f${String(i).padStart(8, '0')}.txt`, i);
      if ((i + 1) % 1_000_000 === 0) line(i + 1);
    }
  },
  async close() {},
};

const storage = new FsStorage(`${dir}/store`);
const repo = await Repository.create(storage, { passphrase: 'synthetic', cacheDir: `${dir}/cache` });
try {
  const result = await backup(repo, source);
  line(n);
  console.log(
    `snapshot ${result.id.slice(0, 16)}: ${result.tree.entries} entries, ${result.filesRead} files read`,
  );
} finally {
  await repo.close();
}
