import { describe, expect, it } from 'vitest';
import { Semaphore } from '../src/index.ts';

describe('Semaphore', () => {
  it('bounds units and serves waiters in order', async () => {
    const s = new Semaphore(10);
    const order: string[] = [];
    await s.acquire(8);
    const big = s.acquire(5).then(() => order.push('big'));
    const small = s.acquire(1).then(() => order.push('small'));
    await Promise.resolve();
    expect(order).toEqual([]);
    s.release(8);
    await Promise.all([big, small]);
    expect(order).toEqual(['big', 'small']);
    expect(s.available).toBe(4);
  });

  it('refuses a capacity below 1, and never holds more than its capacity', async () => {
    expect(() => new Semaphore(0)).toThrow(RangeError);
    const s = new Semaphore(3);
    await s.acquire(2);
    expect(s.inUse).toBe(2);
    s.release(5); // more than was taken: capped
    expect(s.available).toBe(3);
    expect(s.inUse).toBe(0);
  });

  it('clamps requests larger than the capacity', async () => {
    const s = new Semaphore(4);
    expect(await s.acquire(100)).toBe(4);
    expect(s.available).toBe(0);
    s.release(4);
    expect(await s.use(async () => s.available, 2)).toBe(2);
    expect(s.available).toBe(4);
  });
});
