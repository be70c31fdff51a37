/**
 * Memory of a restore of every version (not a test): `node --expose-gc --conditions=kloset-source
 * test/restore-all-versions-bench.ts KEYS VERSIONS` from packages/kloset-core. Backs up into memory
 * a versions tree of KEYS keys of VERSIONS versions each (every seventh a delete marker), then
 * restores every version into a destination that keeps versions and discards what it is given,
 * sampling the heap live after a full GC at every 1,000th write (an in-memory store never lets a
 * timer run; needs --expose-gc): prints the heap before the restore (the in-memory store and the
 * tree included) and the most the restore added to it. Memory bounded: the added heap does not grow
 * with KEYS, and with VERSIONS only by the names of one key's versions.
 */
import type { Destination, EntryAttributes, WriteResult } from '@kloset/connector-contract';
import { MemorySource } from '@kloset/connector-contract/testing';
import { backup } from '../src/backup/backup.ts';
import { restore } from '../src/restore/restore.ts';
import { MemoryRepository } from './snapshot-fixtures.ts';
import { dir, ROOT, version, versionsTree } from './versions-tree-fixtures.ts';

const keys = Number(process.argv[2] ?? 20_000);
const perKey = Number(process.argv[3] ?? 5);

const gc = (globalThis as { gc?: () => void }).gc;
let peak = 0;
let writes = 0;
const sample = () => {
  if (++writes % 1000 !== 0) return;
  gc?.();
  peak = Math.max(peak, process.memoryUsage().heapUsed);
};

/** Keeps versions, writes nothing: reads each content stream to its end. */
const discard: Destination = {
  location: 'discard://',
  concurrency: 16,
  releasesChunks: true,
  keepsVersions: async () => true,
  remove: async (e: EntryAttributes): Promise<WriteResult> => {
    sample();
    return { path: e.path, ok: true };
  },
  async write(e, content): Promise<WriteResult> {
    sample();
    if (content !== undefined) for await (const _ of content);
    return { path: e.path, ok: true };
  },
  finish: async () => undefined,
  close: async () => undefined,
};

async function* entries() {
  yield dir(ROOT);
  for (let k = 0; k < keys; k++) {
    const keyDir = `${ROOT}/f${k % 100}/%k${k}%`;
    if (k < 100) yield dir(`${ROOT}/f${k}`);
    yield dir(keyDir);
    for (let v = 1; v <= perKey; v++) {
      yield version(
        keyDir,
        v * 1000,
        `v${v}`,
        v % 7 === 0 ? undefined : `key ${k} version ${v}`,
        v === perKey,
      );
    }
  }
}

const repo = new MemoryRepository();
const all = [];
for await (const e of entries()) all.push(e);
const { header } = await backup(repo, new MemorySource(all));
all.length = 0;
gc?.();
const before = process.memoryUsage().heapUsed;
peak = before;
const t0 = performance.now();
const res = await restore(repo, header, discard, { allVersions: versionsTree });
const MB = 1024 * 1024;
console.log(
  `${keys} keys x ${perKey} versions: ${res.summary.versions} versions, ${res.summary.deleteMarkers} delete markers, ` +
    `${Math.round(performance.now() - t0)} ms; heap before ${(before / MB).toFixed(0)} MB, ` +
    `added at most ${((peak - before) / MB).toFixed(1)} MB`,
);
