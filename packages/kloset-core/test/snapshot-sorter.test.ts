import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExternalSorter } from '../src/snapshot/external-sorter.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kloset-sorter-test-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function shuffled(n: number, seed: number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  let s = seed;
  for (let i = n - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = s % (i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

const keyOf = (i: number) => Buffer.from(`k${String(i).padStart(7, '0')}`);

describe('external sorter', () => {
  it('sorts in memory when everything fits', async () => {
    const s = new ExternalSorter({ tempDir: dir });
    for (const i of shuffled(1000, 3)) await s.add(keyOf(i), Buffer.from(String(i)));
    const out: string[] = [];
    for await (const r of s.sorted()) out.push(r.value.toString());
    expect(out).toEqual(Array.from({ length: 1000 }, (_, i) => String(i)));
    expect(s.runsWritten).toBe(0);
  });

  it('spills runs beyond a tiny budget, merges them with a small fan-in, and cleans up', async () => {
    const s = new ExternalSorter({ tempDir: dir, memoryBytes: 4096, maxFanIn: 4, readBufferBytes: 64 });
    const n = 8000;
    for (const i of shuffled(n, 11)) await s.add(keyOf(i), Buffer.alloc(i % 300, i & 0xff));
    expect(s.runsWritten).toBeGreaterThan(50);
    expect((await readdir(dir)).length).toBe(1);
    let i = 0;
    for await (const r of s.sorted()) {
      expect(r.key.equals(keyOf(i))).toBe(true);
      expect(r.value.length).toBe(i % 300);
      if (r.value.length > 0) expect(r.value[0]).toBe(i & 0xff);
      i++;
    }
    expect(i).toBe(n);
    expect(await readdir(dir)).toEqual([]);
  });

  it('copies what it is given: the caller may reuse its buffers at once', async () => {
    const s = new ExternalSorter({ tempDir: dir, memoryBytes: 2048, readBufferBytes: 256 });
    const key = Buffer.alloc(8);
    const value = Buffer.alloc(40);
    for (const i of shuffled(3000, 7)) {
      key.write(`k${String(i).padStart(7, '0')}`);
      value.fill(i & 0xff);
      value.writeUInt32BE(i, 0);
      await s.add(key, value);
    }
    expect(s.runsWritten).toBeGreaterThan(10);
    let i = 0;
    for await (const r of s.sorted()) {
      expect(r.key.toString()).toBe(`k${String(i).padStart(7, '0')}`);
      expect(r.value.readUInt32BE(0)).toBe(i);
      expect(r.value[39]).toBe(i & 0xff);
      i++;
    }
    expect(i).toBe(3000);
  });

  it('counts the bytes it holds: records and 8 bytes each, not a guess per record', async () => {
    // 20,000 records of 8 + 8 + 100 bytes (+ 8 for each one's place) are 2.48 MB: under a 512 KiB
    // budget, four runs and the rest in memory; under a budget 20% too small, five.
    const s = new ExternalSorter({ tempDir: dir, memoryBytes: 512 * 1024 });
    for (const i of shuffled(20_000, 9)) await s.add(keyOf(i), Buffer.alloc(100, i & 0xff));
    expect(s.runsWritten).toBe(4);
    const t = new ExternalSorter({ tempDir: dir, memoryBytes: 410 * 1024 });
    for (const i of shuffled(20_000, 9)) await t.add(keyOf(i), Buffer.alloc(100, i & 0xff));
    expect(t.runsWritten).toBe(5);
    let n = 0;
    let prev: Buffer | undefined;
    for await (const r of t.sorted()) {
      if (prev !== undefined) expect(Buffer.compare(prev, r.key)).toBeLessThan(0);
      prev = Buffer.from(r.key);
      n++;
    }
    expect(n).toBe(20_000);
    await s.close();
  });

  it('handles records larger than the read buffer', async () => {
    const s = new ExternalSorter({ tempDir: dir, memoryBytes: 1, readBufferBytes: 16 });
    await s.add(Buffer.from('b'), Buffer.alloc(100_000, 2));
    await s.add(Buffer.from('a'), Buffer.alloc(70_000, 1));
    await s.add(Buffer.from('c'), Buffer.alloc(0));
    const out = [];
    for await (const r of s.sorted()) out.push([r.key.toString(), r.value.length, r.value[0]]);
    expect(out).toEqual([
      ['a', 70_000, 1],
      ['b', 100_000, 2],
      ['c', 0, undefined],
    ]);
  });

  it('removes its files when the consumer stops early or closes', async () => {
    const s = new ExternalSorter({ tempDir: dir, memoryBytes: 100 });
    for (const i of shuffled(500, 5)) await s.add(keyOf(i), Buffer.from('x'));
    for await (const r of s.sorted()) {
      expect(r.key.equals(keyOf(0))).toBe(true);
      break;
    }
    expect(await readdir(dir)).toEqual([]);
    const t = new ExternalSorter({ tempDir: dir, memoryBytes: 100 });
    for (const i of shuffled(500, 5)) await t.add(keyOf(i), Buffer.from('x'));
    await t.close();
    expect(await readdir(dir)).toEqual([]);
  });
});
