/**
 * The walk in a worker thread (the default): the same records and contents as the walk on the
 * calling thread, changes found by the read right after the lstat, and a scan stopped early or
 * aborted leaves no worker and no open directory behind.
 */
import { Buffer } from 'node:buffer';
import { spawnSync } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  isConnectorError,
  type PreviousEntry,
  previousEntryOf,
  type ScanContext,
  type SourceRecord,
} from '@kloset/connector-contract';
import { FsSource, type FsSourceOptions } from '@kloset/connector-fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { INLINE_READ_MAX } from '../src/source/file-content.ts';
import { liveWalkWorkers, terminateWalkWorkers } from '../src/source/worker-walk.ts';
import { runAsUser } from './helpers.ts';
import { longChain, removeNativeTree, writeNativeFile, writeNativeSymlink } from './native-tree.ts';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'kloset-fs-worker-'));
});
afterEach(() => removeNativeTree(root));

const latin1 = (s: string) => Buffer.from(s, 'latin1');

function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed + (i >>> 9)) & 0xff;
  return b;
}

/** The descriptors of this process open on something under `dir`. */
function openUnder(dir: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir);
    } catch {
      return false;
    }
  }).length;
}

async function waitForNoWorker(): Promise<void> {
  for (let i = 0; i < 200 && liveWalkWorkers() > 0; i++) await new Promise((r) => setTimeout(r, 10));
}

/** Attributes of every record (not `open`) and the content of every file, or its error. */
async function dump(options: FsSourceOptions): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const r of new FsSource(root, options).scan()) {
    const { open: _open, ...attributes } = r;
    let content: string | undefined;
    if (r.type === 'file' && r.error === undefined) {
      try {
        const parts: Uint8Array[] = [];
        for await (const c of await r.open()) parts.push(c);
        content = Buffer.concat(parts).toString('hex');
      } catch (err) {
        content = isConnectorError(err) ? `${err.code}: ${err.message}` : String(err);
      }
    }
    out.push({ ...attributes, content });
  }
  return out;
}

async function makeTree(): Promise<void> {
  writeNativeFile(root, [], latin1('caf\xe9.txt'), 'latin-1 name\n');
  writeNativeFile(root, [latin1('r\xe9pertoire'), Buffer.of(0xff, 0xfe)], 'deep', 'deeper\n');
  writeNativeSymlink(root, [], latin1('lien-\xe0'), latin1('caf\xe9.txt'));
  await symlink('/nonexistent/target', join(root, 'dangling'));
  await writeFile(join(root, 'empty'), '');
  await writeFile(join(root, 'at-limit'), bytes(INLINE_READ_MAX, 1));
  await writeFile(join(root, 'over-limit'), bytes(INLINE_READ_MAX + 1, 2));
  await mkdir(join(root, 'many'));
  for (let i = 0; i < 300; i++) await writeFile(join(root, 'many', `f${i}`), bytes(i * 37, i));
  writeNativeFile(root, longChain(25), 'far.txt', 'past PATH_MAX\n');
  await mkdir(join(root, 'locked'));
  await writeFile(join(root, 'locked', 'hidden'), 'x');
  await chmod(join(root, 'locked'), 0o000);
  await writeFile(join(root, 'private'), 'secret');
  await chmod(join(root, 'private'), 0o000);
  await chmod(root, 0o755);
}

describe('FsSource walking in a worker', () => {
  it('yields the same records and contents as the walk on this thread', async () => {
    await makeTree();
    const here = await dump({ worker: false });
    expect(here.length).toBeGreaterThan(330);
    // Small batches, one in flight, little read-ahead credit: the worker waits and files past
    // the credit are read when opened.
    const tuned = { batchEntries: 7, batchBytes: 4096, creditBytes: 100_000, maxInFlight: 1 };
    for (const worker of [true, tuned]) {
      expect(await dump({ worker })).toEqual(here);
      await waitForNoWorker();
      expect(liveWalkWorkers()).toBe(0);
    }
    const byPath = new Map(
      here.map((r) => [(r as SourceRecord).path, r as SourceRecord & { content: string }]),
    );
    expect(byPath.get('/at-limit')!.content).toBe(bytes(INLINE_READ_MAX, 1).toString('hex'));
    expect(byPath.get('/over-limit')!.content).toBe(bytes(INLINE_READ_MAX + 1, 2).toString('hex'));
    expect(byPath.get('/empty')!.content).toBe('');
    expect(byPath.get('/private')!.content).toBe(Buffer.from('secret').toString('hex'));
    // As a user that cannot read them: the locked directory and the private file fail alike.
    const asUser = runAsUser('records', root, 'worker');
    expect(asUser).toEqual(runAsUser('records', root, 'here'));
    const list = (asUser as { ok: { path: string; error?: string; content?: string }[] }).ok;
    expect(list.find((r) => r.path === '/locked')!.error).toMatch(/opendir: permission denied/);
    expect(list.find((r) => r.path === '/private')!.content).toMatch(/^permission: /);
    expect(list.length).toBe(here.length - 1); // /locked/hidden is not seen
  });

  it('a file whose read right after its lstat finds it changed fails with changed, as on this thread', async () => {
    // Files of /proc have size 0 and a content: the read finds them grown since their lstat.
    const proc = '/proc/sys/kernel/random';
    const results = [];
    for (const worker of [true, false]) {
      let record: SourceRecord | undefined;
      for await (const r of new FsSource(proc, { worker }).scan()) if (r.path === '/boot_id') record = r;
      expect(record).toMatchObject({ type: 'file', size: 0 });
      const parts: Uint8Array[] = [];
      let error: unknown;
      try {
        for await (const c of await record!.open()) parts.push(c);
      } catch (err) {
        error = err;
      }
      expect(parts).toEqual([]);
      expect(isConnectorError(error) && error.code).toBe('changed');
      results.push((error as Error).message);
    }
    expect(results[0]).toBe(results[1]);
    expect(results[0]).toContain('grew while being read');
  });

  it('a scan stopped early or aborted leaves no worker running and no directory open', async () => {
    for (let d = 0; d < 6; d++) {
      await mkdir(join(root, `d${d}`, 'sub'), { recursive: true });
      for (let i = 0; i < 60; i++) await writeFile(join(root, `d${d}`, 'sub', `f${i}`), 'x');
    }
    const options: FsSourceOptions = { worker: { batchEntries: 4, maxInFlight: 1 } };
    for (const stopAt of [1, 2, 5, 70, 200]) {
      let seen = 0;
      let deepest = 0;
      for await (const _ of new FsSource(root, options).scan()) {
        deepest = Math.max(deepest, openUnder(root));
        if (++seen === stopAt) break;
      }
      expect(liveWalkWorkers(), `worker after stopping at ${stopAt}`).toBe(0);
      expect(openUnder(root), `open directories after stopping at ${stopAt}`).toBe(0);
      if (stopAt >= 5) expect(deepest).toBeGreaterThanOrEqual(1);
    }
    const abort = new AbortController();
    let seen = 0;
    const scan = (async () => {
      for await (const _ of new FsSource(root, options).scan(abort.signal)) {
        if (++seen === 10) abort.abort(new Error('stop here'));
      }
    })();
    await expect(scan).rejects.toThrow('stop here');
    expect(liveWalkWorkers()).toBe(0);
    expect(openUnder(root)).toBe(0);
  });

  it('a scan abandoned without return() does not keep the process alive', async () => {
    for (let i = 0; i < 100; i++) await writeFile(join(root, `f${i}`), 'x');
    const script = fileURLToPath(new URL('./fixtures/abandon-scan.ts', import.meta.url));
    const started = Date.now();
    const result = spawnSync(process.execPath, ['--conditions=kloset-source', script, root], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.stdout.trim()).toBe('abandoned');
    expect(result.status).toBe(0);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('a worker that dies fails the scan with one error naming the source', async () => {
    for (let i = 0; i < 100; i++) await writeFile(join(root, `f${i}`), 'x');
    const iterator = new FsSource(root, { worker: { batchEntries: 4, maxInFlight: 1 } })
      .scan()
      [Symbol.asyncIterator]();
    await iterator.next();
    await terminateWalkWorkers();
    let error: unknown;
    try {
      for (;;) if ((await iterator.next()).done) break;
    } catch (err) {
      error = err;
    }
    expect(isConnectorError(error)).toBe(true);
    expect((error as Error).message).toBe(
      `scan of ${root}: the walk worker failed: the worker ended before the walk did`,
    );
    expect(liveWalkWorkers()).toBe(0);
  });
});

describe('FsSource walking in a worker, with the previous snapshot', () => {
  /**
   * Scans `root` with `previous`, then rewrites every file with other bytes of the same size and
   * mtime: a file read ahead yields its old bytes, one read when opened its new ones.
   */
  async function readAheadCount(
    previous: ScanContext['previous'],
  ): Promise<{ ahead: number; total: number }> {
    const records: SourceRecord[] = [];
    const options: FsSourceOptions = { worker: { batchEntries: 16, maxInFlight: 1 } };
    for await (const r of new FsSource(root, options).scan(undefined, { previous })) {
      if (r.type === 'file') records.push(r);
      // Lookups settle while the walk goes on, as with the engine.
      if (records.length % 16 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    for (const r of records) {
      const path = join(root, r.path);
      await writeFile(path, 'new!');
      await utimes(path, new Date(r.mtime.sec * 1000), new Date(r.mtime.sec * 1000));
    }
    let ahead = 0;
    for (const r of records) {
      const parts: Uint8Array[] = [];
      for await (const c of await r.open()) parts.push(c);
      if (Buffer.concat(parts).toString() === 'old!') ahead++;
    }
    return { ahead, total: records.length };
  }

  it('reads no file ahead while most are unchanged since the previous backup', async () => {
    for (let i = 0; i < 2000; i++) {
      await writeFile(join(root, `f${i}`), 'old!');
      await utimes(join(root, `f${i}`), 1_000_000, 1_000_000);
    }
    const before = new Map<string, PreviousEntry>();
    for await (const r of new FsSource(root, { worker: false }).scan())
      before.set(r.path, previousEntryOf(r));
    const fresh = await readAheadCount(async () => undefined);
    expect(fresh).toEqual({ ahead: 2000, total: 2000 });
    for (let i = 0; i < 2000; i++) await writeFile(join(root, `f${i}`), 'old!');
    for (let i = 0; i < 2000; i++) await utimes(join(root, `f${i}`), 1_000_000, 1_000_000);
    // The change tokens (ctime) moved with the rewrites: take them again.
    before.clear();
    for await (const r of new FsSource(root, { worker: false }).scan())
      before.set(r.path, previousEntryOf(r));
    const unchanged = await readAheadCount(async (path) => before.get(path));
    expect(unchanged.total).toBe(2000);
    expect(unchanged.ahead).toBeLessThan(1000);
  });
});
