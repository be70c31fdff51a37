import { describe, expect, it } from 'vitest';
import { InlineCalls, POOLED } from '../src/inline-calls.ts';

/** A turnMs that the tests of other rules never reach. */
const NO_TURN = 60_000;

/** Keeps this thread busy for `ms` milliseconds. */
function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // busy
  }
}

describe('InlineCalls', () => {
  it('runs fast calls inline and never touches the pooled form', async () => {
    const calls = new InlineCalls({ slowMs: 50 });
    const pooled = async (): Promise<number> => {
      throw new Error('pooled form called');
    };
    let ran = 0;
    for (let i = 0; i < 20; i++) {
      const result = calls.run(() => {
        ran++;
        return i * 2;
      }, pooled);
      // Inline: already done when run() returns.
      expect(ran).toBe(i + 1);
      expect(await result).toBe(i * 2);
    }
    expect(calls.counts).toEqual({ inline: 20, pooled: 0 });
  });

  it('a second slow call within 32 sends the next calls to the pool, then inline again', async () => {
    const calls = new InlineCalls({ slowMs: 30, poolCalls: 3, turnMs: NO_TURN });
    const log: string[] = [];
    const run = (slow: boolean) =>
      calls.run(
        () => {
          log.push('inline');
          if (slow) spin(60);
          return 1;
        },
        async () => {
          log.push('pooled');
          return 2;
        },
      );
    expect(await run(false)).toBe(1);
    expect(await run(true)).toBe(1);
    for (let i = 0; i < 30; i++) expect(await run(false)).toBe(1);
    expect(await run(true)).toBe(1); // 31 calls after the first slow one
    expect(await Promise.all([run(false), run(false), run(false)])).toEqual([2, 2, 2]);
    expect(await run(false)).toBe(1);
    expect(log.slice(-5)).toEqual(['inline', 'pooled', 'pooled', 'pooled', 'inline']);
    expect(calls.counts).toEqual({ inline: 34, pooled: 3 });
  });

  it('keeps calls inline after lone slow calls (the thread preempted, not the device)', async () => {
    const calls = new InlineCalls({ slowMs: 30, poolCalls: 3, turnMs: NO_TURN });
    const pooled = async () => 'pooled';
    for (let round = 0; round < 3; round++) {
      expect(
        await calls.run(() => {
          spin(60);
          return 'inline';
        }, pooled),
      ).toBe('inline');
      for (let i = 0; i < 32; i++) expect(await calls.run(() => 'inline', pooled)).toBe('inline');
    }
    expect(calls.counts).toEqual({ inline: 99, pooled: 0 });
  });

  it('sends calls to the pool after a window of 32 that are each fast but slow on average', async () => {
    const calls = new InlineCalls({ slowMs: 50, averageSlowMs: 0.5, poolCalls: 4, turnMs: NO_TURN });
    const pooled = async () => 'pooled';
    // 31 calls of 0.7 ms: none slow alone, the window not yet complete.
    for (let i = 0; i < 31; i++) {
      expect(
        await calls.run(() => {
          spin(0.7);
          return 'inline';
        }, pooled),
      ).toBe('inline');
    }
    expect(await calls.run(() => 'inline', pooled)).toBe('inline'); // the 32nd closes the window
    for (let i = 0; i < 4; i++) expect(await calls.run(() => 'inline', pooled)).toBe('pooled');
    // A window of fast calls keeps them inline.
    for (let i = 0; i < 40; i++) expect(await calls.run(() => 'inline', pooled)).toBe('inline');
    expect(calls.counts).toEqual({ inline: 72, pooled: 4 });
  });

  it('leaves the slowest call of a window out of its average', async () => {
    const calls = new InlineCalls({ slowMs: 50, averageSlowMs: 0.5, poolCalls: 4, turnMs: NO_TURN });
    const pooled = async () => 'pooled';
    // One call of 20 ms (not slow alone) and 31 fast ones: 0.6 ms on average, 0 without it.
    const run = (ms: number) =>
      calls.run(() => {
        spin(ms);
        return 'inline';
      }, pooled);
    expect(await run(20)).toBe('inline');
    for (let i = 0; i < 31; i++) expect(await run(0)).toBe('inline');
    expect(await run(0)).toBe('inline');
    expect(calls.counts).toEqual({ inline: 33, pooled: 0 });
  });

  it('KLOSET_FS_INLINE=0 keeps every call in the pool by default', async () => {
    const before = process.env.KLOSET_FS_INLINE;
    process.env.KLOSET_FS_INLINE = '0';
    try {
      const calls = new InlineCalls();
      expect(
        await calls.run(
          () => 'inline',
          async () => 'pooled',
        ),
      ).toBe('pooled');
      expect(
        await new InlineCalls({ poolOnly: false }).run(
          () => 'inline',
          async () => 'pooled',
        ),
      ).toBe('inline');
    } finally {
      if (before === undefined) delete process.env.KLOSET_FS_INLINE;
      else process.env.KLOSET_FS_INLINE = before;
    }
  });

  it('turns an inline error into a rejection and keeps going inline', async () => {
    const calls = new InlineCalls({ slowMs: 50 });
    const failing = calls.run(
      () => {
        throw Object.assign(new Error('EEXIST: file already exists'), { code: 'EEXIST' });
      },
      async () => 0,
    );
    await expect(failing).rejects.toMatchObject({ code: 'EEXIST' });
    expect(
      await calls.run(
        () => 7,
        async () => 0,
      ),
    ).toBe(7);
    expect(calls.counts).toEqual({ inline: 2, pooled: 0 });
  });

  it('with poolOnly runs every call in the pool', async () => {
    const calls = new InlineCalls({ poolOnly: true });
    const results = await Promise.all(
      [1, 2, 3].map((n) =>
        calls.run(
          () => -n,
          async () => n,
        ),
      ),
    );
    expect(results).toEqual([1, 2, 3]);
    expect(calls.counts).toEqual({ inline: 0, pooled: 3 });
  });

  it('runInline returns the result or throws on this thread, or POOLED without running the call', () => {
    const calls = new InlineCalls({ slowMs: 1000 });
    expect(calls.runInline(() => 5)).toBe(5);
    expect(() =>
      calls.runInline(() => {
        throw new Error('ENOENT');
      }),
    ).toThrow('ENOENT');
    let ran = false;
    const pooled = new InlineCalls({ poolOnly: true });
    expect(
      pooled.runInline(() => {
        ran = true;
        return 5;
      }),
    ).toBe(POOLED);
    expect(ran).toBe(false);
    expect(calls.counts).toEqual({ inline: 2, pooled: 0 });
    expect(pooled.counts).toEqual({ inline: 0, pooled: 1 });
  });

  it('lets the event loop turn: after turnMs without one, calls go to the pool until it turns', async () => {
    const calls = new InlineCalls({ slowMs: 1000, averageSlowMs: 1000, turnMs: 20 });
    const pooled = async () => {
      await new Promise((resolve) => setImmediate(resolve)); // as a thread-pool completion would
      return 'pooled';
    };
    let turned = false;
    setImmediate(() => {
      turned = true;
    });
    const log: string[] = [];
    const start = performance.now();
    // Promise reactions only: the event loop turns only if a call goes to the pool.
    while (!turned && performance.now() - start < 1000) {
      log.push(
        await calls.run(() => {
          spin(1);
          return 'inline';
        }, pooled),
      );
    }
    expect(turned).toBe(true);
    expect(log.at(-1)).toBe('pooled');
    expect(log.filter((r) => r === 'inline').length).toBeLessThanOrEqual(21); // 1 ms each, 20 ms
    expect(await calls.run(() => 'inline', pooled)).toBe('inline');
  });
});
