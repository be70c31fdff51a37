/**
 * The file scheduler never loses a wake-up: every backup ends, whatever the timing of its file
 * jobs against the scan. (The old loop kept one wake-up callback, set only while it waited: a job
 * that finished while the scan was awaiting the source left files queued with free slots, and the
 * final wait never returned: Node exited 13 with no line, about one backup in ten.)
 */
import type { SourceRecord } from '@kloset/connector-contract';
import { type MemoryEntry, MemorySource } from '@kloset/connector-contract/testing';
import { describe, expect, it } from 'vitest';
import { backup } from '../src/backup/backup.ts';
import { FileScheduler } from '../src/backup/file-scheduler.ts';
import { MemoryRepository, sleep } from './snapshot-fixtures.ts';

/** A MemorySource whose scan pauses `pauseMs` after every `every` records (the source awaiting a listing page). */
class PausingSource extends MemorySource {
  readonly every: number;
  readonly pauseMs: () => number;
  readonly openDelayMs: number;

  constructor(entries: readonly MemoryEntry[], every: number, pauseMs: () => number, openDelayMs = 0) {
    super(entries, {});
    this.every = every;
    this.pauseMs = pauseMs;
    this.openDelayMs = openDelayMs;
  }

  override async *scan(signal?: AbortSignal): AsyncIterable<SourceRecord> {
    let n = 0;
    for await (const r of super.scan(signal)) {
      const delay = this.openDelayMs;
      const open = async () => {
        await sleep(delay);
        return r.open();
      };
      yield r.type === 'file' && delay > 0 ? { ...r, open } : r;
      if (++n % this.every === 0) await sleep(this.pauseMs());
    }
    await sleep(this.pauseMs());
  }
}

function files(count: number, seed: number): MemoryEntry[] {
  return Array.from({ length: count }, (_, i) => ({
    path: `/f${String(i).padStart(4, '0')}`,
    type: 'file' as const,
    bytes: Buffer.from(`file ${i} of run ${seed}`),
  }));
}

/** Settles with 'timeout' if `p` has not settled within `ms` (a lost wake-up never settles). */
async function within<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

describe('backup file scheduling', () => {
  it('ends when files finish while the scan awaits the source (the lost wake-up)', async () => {
    // One slot (records: the root, then two files): the second file queues while the first opens (10 ms); the first finishes while
    // the scan sleeps (30 ms); then the scan ends with the second still queued.
    const repo = new MemoryRepository();
    const source = new PausingSource(files(2, 0), 3, () => 30, 10);
    const res = await within(backup(repo, source, { fileConcurrency: 1 }), 5000);
    expect(res).not.toBe('timeout');
    if (res !== 'timeout') expect(res.header.summary.files).toBe(2);
  });

  it('300 small backups in a row all end with a snapshot', async () => {
    const repo = new MemoryRepository();
    let ended = 0;
    for (let run = 0; run < 300; run++) {
      const count = 1 + (run % 7);
      const source = new PausingSource(files(count, run), 1 + (run % 3), () => run % 3);
      const res = await within(backup(repo, source, { fileConcurrency: 1 + (run % 2) }), 5000);
      expect(res, `backup ${run} never ended`).not.toBe('timeout');
      if (res !== 'timeout') {
        expect(res.header.summary.files).toBe(count);
        ended++;
      }
    }
    expect(ended).toBe(300);
  }, 120_000);
});

describe('FileScheduler', () => {
  const record = (i: number): SourceRecord =>
    ({ path: `/f${i}`, type: 'file', size: i }) as unknown as SourceRecord;

  it('runs every file, never more than its slots at once, with jobs that finish at any moment', async () => {
    for (let trial = 0; trial < 50; trial++) {
      let running = 0;
      let peak = 0;
      let peakLarge = 0;
      let runningLarge = 0;
      const done: string[] = [];
      const s = new FileScheduler({
        slots: 3,
        largeSlots: 2,
        capacity: 4,
        stopped: () => false,
        run: async (r) => {
          running++;
          const large = r.size % 2 === 1;
          if (large) runningLarge++;
          peak = Math.max(peak, running);
          peakLarge = Math.max(peakLarge, runningLarge);
          // 0: settles in a microtask; else a timer of 0-2 ms.
          const d = (r.size * 7 + trial) % 4;
          if (d > 0) await sleep(d - 1);
          running--;
          if (large) runningLarge--;
          done.push(r.path);
        },
      });
      for (let i = 0; i < 40; i++) {
        s.push(record(i), i % 2 === 1);
        await s.untilNotFull();
        expect(s.waiting).toBeLessThan(4);
        if (i % 5 === 0) await sleep(trial % 3);
      }
      await s.drain();
      expect(done.length).toBe(40);
      expect(s.running).toBe(0);
      expect(peak).toBeLessThanOrEqual(3);
      expect(peakLarge).toBeLessThanOrEqual(2);
    }
  });

  it('drops queued files once stopped, and waits for those running', async () => {
    let stop = false;
    const started: string[] = [];
    let finished = 0;
    const s = new FileScheduler({
      slots: 1,
      largeSlots: 1,
      capacity: 10,
      stopped: () => stop,
      run: async (r) => {
        started.push(r.path);
        stop = true;
        await sleep(5);
        finished++;
      },
    });
    for (let i = 0; i < 5; i++) s.push(record(i), false);
    await s.drain();
    expect(started).toEqual(['/f0']);
    expect(finished).toBe(1);
  });
});
