import { describe, expect, it } from 'vitest';
import { InlineCalls } from '../src/inline-calls.ts';

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

  it('sends the next calls to the pool after a slow inline call, then tries inline again', async () => {
    const calls = new InlineCalls({ slowMs: 5, poolCalls: 3 });
    const log: string[] = [];
    const run = (slow: boolean) =>
      calls.run(
        () => {
          log.push('inline');
          if (slow) spin(15);
          return 1;
        },
        async () => {
          log.push('pooled');
          return 2;
        },
      );
    expect(await run(false)).toBe(1);
    expect(await run(true)).toBe(1);
    expect(await Promise.all([run(false), run(false), run(false)])).toEqual([2, 2, 2]);
    expect(await run(false)).toBe(1);
    expect(log).toEqual(['inline', 'inline', 'pooled', 'pooled', 'pooled', 'inline']);
    expect(calls.counts).toEqual({ inline: 3, pooled: 3 });
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
});
