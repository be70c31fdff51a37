import { describe, expect, it } from 'vitest';
import { SettleQueue } from '../src/settle-queue.ts';

const after = <T>(ms: number, value: T): Promise<T> =>
  new Promise((resolve) => setTimeout(() => resolve(value), ms));

describe('SettleQueue', () => {
  it('gives values back in the order their promises settle, counting those not taken', async () => {
    const q = new SettleQueue<string>();
    q.add(after(30, 'slow'));
    q.add(after(1, 'fast'));
    q.add(Promise.resolve('now'));
    expect(q.size).toBe(3);
    expect(await q.take()).toBe('now');
    expect(await q.take()).toBe('fast');
    expect(q.size).toBe(1);
    expect(await q.take()).toBe('slow');
    expect(q.size).toBe(0);
    await expect(q.take()).rejects.toThrow(/nothing in flight/);
  });

  it('throws the reason of a rejected promise when it is taken, never as an unhandled rejection', async () => {
    const q = new SettleQueue<number>();
    q.add(Promise.reject(new Error('HeadObject failed')));
    await after(5, undefined);
    q.add(Promise.resolve(2));
    await expect(q.take()).rejects.toThrow('HeadObject failed');
    expect(await q.take()).toBe(2);
  });
});
