import { ConnectorError } from '@kloset/connector-contract';
import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_RETRY, sleep, withRetry } from '../src/index.ts';

const fast = { attempts: 4, baseDelayMs: 1, maxDelayMs: 4 };

describe('withRetry', () => {
  it('retries transient and unavailable errors until success', async () => {
    let calls = 0;
    const out = await withRetry(async () => {
      calls++;
      if (calls === 1) throw new ConnectorError('transient', 'slow down');
      if (calls === 2) throw new ConnectorError('unavailable', 'refused');
      return 'ok';
    }, fast);
    expect(out).toBe('ok');
    expect(calls).toBe(3);
  });

  it('never retries final errors', async () => {
    for (const code of ['auth', 'permission', 'not_found', 'invalid', 'already_exists'] as const) {
      let calls = 0;
      await expect(
        withRetry(async () => {
          calls++;
          throw new ConnectorError(code, code);
        }, fast),
      ).rejects.toMatchObject({ code });
      expect(calls).toBe(1);
    }
  });

  it('does not retry errors that are not ConnectorErrors', async () => {
    let calls = 0;
    await expect(
      withRetry(async () => {
        calls++;
        throw new TypeError('bug');
      }, fast),
    ).rejects.toBeInstanceOf(TypeError);
    expect(calls).toBe(1);
  });

  it('gives up after the attempts and throws the last error', async () => {
    let calls = 0;
    await expect(
      withRetry(async () => {
        calls++;
        throw new ConnectorError('transient', `failure ${calls}`);
      }, fast),
    ).rejects.toThrow('failure 4');
    expect(calls).toBe(4);
  });

  it('stops waiting when the signal fires', async () => {
    const ac = new AbortController();
    const reason = new Error('cancelled');
    const p = withRetry(
      async () => {
        throw new ConnectorError('transient', 'x');
      },
      { attempts: 10, baseDelayMs: 60_000, maxDelayMs: 60_000 },
      ac.signal,
    );
    setTimeout(() => ac.abort(reason), 10);
    await expect(p).rejects.toBe(reason);
    await expect(sleep(10, ac.signal)).rejects.toBe(reason);
  });
});

describe('backoffDelay', () => {
  it('grows exponentially with equal jitter, capped', () => {
    const p = { attempts: 10, baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelay(p, 0, () => 0)).toBe(50);
    expect(backoffDelay(p, 0, () => 0.999999)).toBeCloseTo(100, 3);
    expect(backoffDelay(p, 2, () => 0)).toBe(200);
    expect(backoffDelay(p, 10, () => 0)).toBe(500);
    expect(backoffDelay(p, 10, () => 1)).toBe(1000);
    expect(backoffDelay(DEFAULT_RETRY, 0, () => 0.5)).toBeGreaterThan(0);
  });
});
