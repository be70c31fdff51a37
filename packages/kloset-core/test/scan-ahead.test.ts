/** scanAhead: the scan runs before the backup asks for it, bounded, and hands over intact. */
import type { ScanContext, Source, SourceRecord } from '@kloset/connector-contract';
import { describe, expect, it } from 'vitest';
import { scanAhead, scanTallyOf } from '../src/backup/scan-ahead.ts';

/** A source of `count` files that asks the context for each file's previous entry. */
class CountingSource implements Source {
  readonly info = { protocol: 'test', origin: 'here', root: '/' };
  yielded = 0;
  finished = false;
  closed = false;
  readonly previousSeen: (number | undefined)[] = [];
  readonly count: number;
  readonly failAt: number | undefined;
  readonly asksPrevious: boolean;
  constructor(count: number, failAt?: number, asksPrevious = false) {
    this.count = count;
    this.failAt = failAt;
    this.asksPrevious = asksPrevious;
  }
  async *scan(_signal?: AbortSignal, context?: ScanContext): AsyncGenerator<SourceRecord> {
    try {
      for (let i = 0; i < this.count; i++) {
        if (i === this.failAt) throw new Error(`scan failed at ${i}`);
        if (this.asksPrevious) this.previousSeen.push((await context?.previous?.(`/f${i}`))?.size);
        this.yielded++;
        yield {
          path: `/f${i}`,
          type: 'file',
          size: i,
          mtime: { sec: 0, nsec: 0 },
          metadata: {},
          open: async () => (async function* () {})(),
        };
      }
    } finally {
      this.finished = true;
    }
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('scanAhead', () => {
  it('scans up to maxRecords before scan() is called, then hands every record over in order', async () => {
    const inner = new CountingSource(100);
    const ahead = scanAhead(inner, { maxRecords: 10 });
    await tick();
    expect(inner.yielded).toBeGreaterThanOrEqual(10);
    expect(inner.yielded).toBeLessThanOrEqual(11); // the queue, and at most one record in hand
    const paths: string[] = [];
    for await (const r of ahead.scan()) paths.push(r.path);
    expect(paths).toEqual(Array.from({ length: 100 }, (_, i) => `/f${i}`));
    expect(() => ahead.scan()).toThrow(/already taken/);
    await ahead.close();
    expect(inner.closed).toBe(true);
  });

  it('tallies the records and file bytes scanned so far, done once the scan has ended', async () => {
    const inner = new CountingSource(100);
    expect(scanTallyOf(inner)).toBeUndefined();
    const ahead = scanAhead(inner, { maxRecords: 10 });
    const tally = scanTallyOf(ahead)!;
    await tick();
    expect(tally.entries).toBe(inner.yielded);
    expect(tally.done).toBe(false);
    let seen = 0;
    for await (const _ of ahead.scan()) {
      seen++;
      if (seen === 50) expect(tally.done).toBe(false);
    }
    expect(tally).toMatchObject({ entries: 100, bytes: (99 * 100) / 2, done: true });
    await ahead.close();
  });

  it('lookups of the previous snapshot wait for the context scan() is given', async () => {
    const inner = new CountingSource(20, undefined, true);
    const ahead = scanAhead(inner, { maxRecords: 10 });
    await tick();
    expect(inner.yielded).toBe(0); // waiting for its first lookup
    const previous = (path: string) =>
      Promise.resolve({ path, type: 'file' as const, size: 7, mtime: { sec: 0, nsec: 0 }, metadata: {} });
    let n = 0;
    for await (const _ of ahead.scan(undefined, { previous })) n++;
    expect(n).toBe(20);
    expect(inner.previousSeen).toEqual(Array(20).fill(7));
  });

  it('close() before scan() stops the early scan and closes the source', async () => {
    const inner = new CountingSource(1000);
    const ahead = scanAhead(inner, { maxRecords: 5 });
    await tick();
    await ahead.close();
    expect(inner.finished).toBe(true);
    expect(inner.closed).toBe(true);
    expect(inner.yielded).toBeLessThan(10);
  });

  it('an error of the scan reaches the consumer after the records before it', async () => {
    const inner = new CountingSource(10, 4);
    const ahead = scanAhead(inner, { maxRecords: 100 });
    await tick();
    const paths: string[] = [];
    await expect(async () => {
      for await (const r of ahead.scan()) paths.push(r.path);
    }).rejects.toThrow('scan failed at 4');
    expect(paths).toEqual(['/f0', '/f1', '/f2', '/f3']);
  });

  it('a consumer that stops early stops the scan', async () => {
    const inner = new CountingSource(1000);
    const ahead = scanAhead(inner, { maxRecords: 3 });
    for await (const r of ahead.scan()) if (r.path === '/f5') break;
    expect(inner.finished).toBe(true);
    expect(inner.yielded).toBeLessThan(12);
  });
});

it('close() does not wait for a scan that is stuck reaching its server: it aborts it', async () => {
  let aborted = false;
  const stuck: Source = {
    info: { protocol: 'test', origin: 'here', root: '/' },
    async *scan(signal?: AbortSignal): AsyncGenerator<SourceRecord> {
      // Like a listing retrying an unreachable endpoint: nothing until its signal aborts.
      await new Promise((_, reject) =>
        signal?.addEventListener('abort', () => {
          aborted = true;
          reject(signal.reason);
        }),
      );
    },
    close: async () => {},
  };
  const ahead = scanAhead(stuck, { maxRecords: 10 });
  await tick();
  const started = Date.now();
  await ahead.close();
  expect(aborted).toBe(true);
  expect(Date.now() - started).toBeLessThan(1000);
});

it('a scan that ran to its end is not aborted: its records may still be opened with its signal', async () => {
  let scanSignal: AbortSignal | undefined;
  const source: Source = {
    info: { protocol: 'test', origin: 'here', root: '/' },
    async *scan(signal?: AbortSignal): AsyncGenerator<SourceRecord> {
      scanSignal = signal;
      yield {
        path: '/f',
        type: 'file',
        size: 0,
        mtime: { sec: 0, nsec: 0 },
        metadata: {},
        open: async () => (async function* () {})(),
      };
    },
    close: async () => {},
  };
  const ahead = scanAhead(source, { maxRecords: 10 });
  for await (const _ of ahead.scan()) {
    // consumed to the end
  }
  await ahead.close();
  expect(scanSignal?.aborted).toBe(false);
});
