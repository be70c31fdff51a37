/** The sorter's spill files: encrypted, authenticated, and swept when their process is gone. */
import { spawnSync } from 'node:child_process';
import {
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  rm,
  stat,
  truncate,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExternalSorter, spillDirPrefix } from '../src/snapshot/external-sorter.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kloset-sorter-spill-test-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const MARKER = 'ZQX-secret-name-QXZ';
const keyOf = (i: number) => Buffer.from(`dir-${i % 7}/${MARKER}-${(i * 7919) % 5000}`);
const metaOf = (i: number) => Buffer.from(`{"x-amz-meta-owner":"${MARKER}","n":${i}}`);

/** Every file under `root` with its bytes. */
async function spilled(root: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const e of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const path = join(e.parentPath, e.name);
    try {
      files.set(path, await readFile(path));
    } catch {
      // merged and removed meanwhile
    }
  }
  return files;
}

function expectNoMarker(files: Map<string, Buffer>): void {
  for (const [path, bytes] of files) {
    expect(bytes.includes(MARKER), path).toBe(false);
    expect(bytes.includes(Buffer.from(MARKER, 'utf16le')), path).toBe(false);
  }
}

/** A sorter with `n` records added under a tiny budget, so that it has spilled runs. */
async function spilledSorter(n: number, options: { maxFanIn?: number } = {}): Promise<ExternalSorter> {
  const s = new ExternalSorter({ tempDir: dir, memoryBytes: 2048, readBufferBytes: 512, ...options });
  for (let i = 0; i < n; i++) await s.add(keyOf(i), metaOf(i));
  return s;
}

async function runFiles(): Promise<string[]> {
  const [spill] = await readdir(dir);
  expect(spill).toMatch(new RegExp(`^${spillDirPrefix()}`));
  const runs = (await readdir(join(dir, spill!))).sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)));
  return runs.map((r) => join(dir, spill!, r));
}

describe('spill files', () => {
  it('hold no plaintext name or value, during the adds and the merges', async () => {
    const s = await spilledSorter(5000, { maxFanIn: 4 });
    const before = await spilled(dir);
    expect(before.size).toBeGreaterThan(10);
    expect([...before.values()].reduce((n, b) => n + b.length, 0)).toBeGreaterThan(100_000);
    expectNoMarker(before);
    let n = 0;
    let scannedDuringMerge = 0;
    let prev: Buffer | undefined;
    for await (const r of s.sorted()) {
      if (prev !== undefined) expect(Buffer.compare(prev, r.key)).toBeLessThanOrEqual(0);
      prev = r.key;
      expect(r.value.toString()).toContain(MARKER);
      if (n++ % 1000 === 0) {
        const during = await spilled(dir);
        scannedDuringMerge += during.size;
        expectNoMarker(during);
      }
    }
    expect(n).toBe(5000);
    expect(scannedDuringMerge).toBeGreaterThan(0);
    expect(await readdir(dir)).toEqual([]);
  });

  it('spill directories are private to their user', async () => {
    const s = await spilledSorter(200);
    const [spill] = await readdir(dir);
    expect((await stat(join(dir, spill!))).mode & 0o077).toBe(0);
    const [run] = await runFiles();
    expect((await stat(run!)).mode & 0o077).toBe(0);
    await s.close();
  });

  it('a flipped byte fails the sort with an error naming the file', async () => {
    const s = await spilledSorter(300);
    const runs = await runFiles();
    const victim = runs[1]!;
    const fh = await open(victim, 'r+');
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, 40);
    b[0]! ^= 0x01;
    await fh.write(b, 0, 1, 40);
    await fh.close();
    await expect(async () => {
      for await (const _ of s.sorted()) {
        // drain
      }
    }).rejects.toThrow(
      `temporary sort file ${victim} was modified or is corrupt: block 0 does not authenticate`,
    );
    expect(await readdir(dir)).toEqual([]);
  });

  it('a truncated, an extended or a swapped run fails the sort', async () => {
    const cases: [string, (runs: string[]) => Promise<void>, RegExp][] = [
      [
        'truncated',
        async (runs) => truncate(runs[0]!, (await stat(runs[0]!)).size - 30),
        /runs past the end|truncated/,
      ],
      ['cut at a block end', async (runs) => truncate(runs[0]!, 0), /truncated before block 0/],
      [
        'extended',
        async (runs) => writeFile(runs[0]!, Buffer.alloc(3), { flag: 'a' }),
        /bytes after its last block/,
      ],
      [
        'swapped',
        async (runs) => {
          const [a, b] = [await readFile(runs[0]!), await readFile(runs[1]!)];
          await writeFile(runs[0]!, b);
          await writeFile(runs[1]!, a);
        },
        /block 0 does not authenticate/,
      ],
    ];
    for (const [what, damage, error] of cases) {
      const s = await spilledSorter(300);
      await damage(await runFiles());
      await expect(async () => {
        for await (const _ of s.sorted()) {
          // drain
        }
      }, what).rejects.toThrow(error);
      expect(await readdir(dir)).toEqual([]);
    }
  });
});

describe('stale spill directories', () => {
  /** A pid that was alive a moment ago and is not any more. */
  function deadPid(): number {
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    const pid = Number(child.stdout);
    expect(pid).toBeGreaterThan(0);
    expect(() => process.kill(pid, 0)).toThrow();
    return pid;
  }

  async function leftover(name: string): Promise<string> {
    const path = join(dir, name);
    await mkdir(path);
    await writeFile(join(path, 'run-0'), 'sealed bytes');
    return path;
  }

  it('the next sorter removes those of dead processes, never those of live ones', async () => {
    const dead = await leftover(`${spillDirPrefix(deadPid())}AbC123`);
    const live = await leftover(`${spillDirPrefix(process.pid)}XyZ789`);
    const parent = await leftover(`${spillDirPrefix(process.ppid)}QrS456`);
    const other = await leftover('kloset-sorter-not-ours');
    const s = new ExternalSorter({ tempDir: dir, memoryBytes: 100 });
    for (let i = 0; i < 50; i++) await s.add(keyOf(i), metaOf(i));
    const names = await readdir(dir);
    expect(names).not.toContain(dead.slice(dir.length + 1));
    for (const kept of [live, parent, other]) expect(names).toContain(kept.slice(dir.length + 1));
    // The live leftover and this sorter's own directory.
    expect(names.filter((n) => n.startsWith(spillDirPrefix()))).toHaveLength(2);
    await s.close();
    expect((await readdir(dir)).sort()).toEqual(
      [live, parent, other].map((p) => p.slice(dir.length + 1)).sort(),
    );
  });

  it('removes those older than 6 hours whatever their pid, and the plaintext ones of earlier versions', async () => {
    const old = Date.now() / 1000 - 7 * 3600;
    const reused = await leftover(`${spillDirPrefix(process.pid)}Old111`);
    const otherNamespace = await leftover(`kloset-sort-${deadPid()}-1-Old222`);
    const legacy = await leftover('kloset-sort-Old333');
    const recentLegacy = await leftover('kloset-sort-New444');
    const recentOtherNamespace = await leftover(`kloset-sort-${deadPid()}-1-New555`);
    for (const p of [reused, otherNamespace, legacy]) await utimes(p, old, old);
    const s = new ExternalSorter({ tempDir: dir });
    await s.add(keyOf(1), metaOf(1));
    await s.close();
    expect((await readdir(dir)).sort()).toEqual(
      [recentLegacy, recentOtherNamespace].map((p) => p.slice(dir.length + 1)).sort(),
    );
  });
});
