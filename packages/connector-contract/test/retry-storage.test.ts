import {
  ConnectorError,
  DEFAULT_STORE_POLICY,
  type ErrorCode,
  FaultInjectingStorage,
  isConnectorError,
  type PutBody,
  policyOfTimeout,
  type ResourceInfo,
  type RetryEvent,
  RetryStorage,
  type Storage,
  seededRandom,
  storePolicy,
} from '@kloset/connector-contract';
import { deterministicBytes, MemoryStorage, testResourceId } from '@kloset/connector-contract/testing';
import { describe, expect, it } from 'vitest';

const ID = testResourceId(1);
const CONFIG = new Uint8Array([1, 2, 3]);

/** A fake clock: sleep() advances it, so time bounds are tested without waiting. */
function fakeTime() {
  let now = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
  };
}

async function failure(p: Promise<unknown>): Promise<ConnectorError> {
  try {
    await p;
  } catch (err) {
    if (isConnectorError(err)) return err;
    throw err;
  }
  throw new Error('expected a failure');
}

async function drain(items: AsyncIterable<ResourceInfo>): Promise<void> {
  for await (const _ of items);
}

/** A storage whose every call takes `waitMs` of the fake clock, then fails as a request no server answered. */
function silentStorage(time: ReturnType<typeof fakeTime>, waitMs: number, calls: string[]): Storage {
  const silent = async (op: string): Promise<never> => {
    calls.push(op);
    await time.sleep(waitMs);
    time.sleeps.pop();
    throw new ConnectorError('transient', `${op}: no answer within the request timeout`);
  };
  return {
    location: 'silent',
    mode: 'read-write',
    create: () => silent('create'),
    open: () => silent('open'),
    put: () => silent('put'),
    get: () => silent('get'),
    // biome-ignore lint/correctness/useYield: it fails before yielding, as a silent listing does
    list: async function* () {
      await silent('list');
    },
    delete: () => silent('delete'),
    close: async () => {},
  };
}

async function storeWith(...rules: ConstructorParameters<typeof FaultInjectingStorage>[1]['rules']) {
  const memory = new MemoryStorage();
  await memory.create(CONFIG);
  await memory.put('packfile', ID, deterministicBytes(1, 100));
  return new FaultInjectingStorage(memory, { rules });
}

describe('RetryStorage', () => {
  it('retries transient and unavailable failures until the call succeeds, telling onRetry', async () => {
    const flaky = await storeWith(
      { op: 'get', nth: [1], fault: { type: 'error', code: 'transient' } },
      { op: 'get', nth: [2], fault: { type: 'error', code: 'unavailable' } },
    );
    const events: RetryEvent[] = [];
    const time = fakeTime();
    const retry = new RetryStorage(flaky, { ...time, onRetry: (e) => events.push(e) });
    expect(await retry.get('packfile', ID)).toEqual(deterministicBytes(1, 100));
    expect(flaky.calls.get).toBe(3);
    expect(events.map((e) => [e.op, e.target, e.attempt, e.error.code])).toEqual([
      ['get', `packfile/${ID}`, 1, 'transient'],
      ['get', `packfile/${ID}`, 2, 'unavailable'],
    ]);
    expect(time.sleeps).toEqual(events.map((e) => e.delayMs));
  });

  it.each<ErrorCode>(['auth', 'permission', 'not_found', 'invalid', 'already_exists'])(
    'never retries %s',
    async (code) => {
      const flaky = await storeWith({ op: 'get', fault: { type: 'error', code } });
      const retry = new RetryStorage(flaky, fakeTime());
      const err = await failure(retry.get('packfile', ID));
      expect(err.code).toBe(code);
      expect(flaky.calls.get).toBe(1);
    },
  );

  it('does not retry errors that are not ConnectorErrors', async () => {
    const memory = new MemoryStorage();
    let calls = 0;
    memory.get = async () => {
      calls++;
      throw new TypeError('bug');
    };
    await expect(new RetryStorage(memory, fakeTime()).get('packfile', ID)).rejects.toThrow(TypeError);
    expect(calls).toBe(1);
  });

  it('gives up after maxAttempts with the last code, context and a message saying so', async () => {
    const flaky = await storeWith({ op: 'put', fault: { type: 'error', code: 'unavailable' } });
    const retry = new RetryStorage(flaky, { ...fakeTime(), maxAttempts: 4 });
    const err = await failure(retry.put('packfile', ID, new Uint8Array(1)));
    expect(err.code).toBe('unavailable');
    expect(err.message).toMatch(/gave up after 4 attempts/);
    expect(err.context.key).toBe(`packfile/${ID}`);
    expect(isConnectorError(err.cause, 'unavailable')).toBe(true);
    expect(flaky.calls.put).toBe(4);
  });

  it('waits exponentially longer with jitter, capped by maxDelayMs', async () => {
    const flaky = await storeWith({ op: 'open', fault: { type: 'error' } });
    const time = fakeTime();
    const retry = new RetryStorage(flaky, {
      ...time,
      maxAttempts: 8,
      baseDelayMs: 100,
      maxDelayMs: 1000,
      maxElapsedMs: 1e9,
      random: seededRandom(3),
    });
    await failure(retry.open());
    const ceilings = [100, 200, 400, 800, 1000, 1000, 1000];
    expect(time.sleeps).toHaveLength(ceilings.length);
    for (const [i, ceiling] of ceilings.entries()) {
      expect(time.sleeps[i]).toBeGreaterThanOrEqual(ceiling / 2);
      expect(time.sleeps[i]).toBeLessThanOrEqual(ceiling);
    }
    // Jitter: the capped waits are not all equal.
    expect(new Set(time.sleeps.slice(4)).size).toBeGreaterThan(1);
  });

  it('starts no attempt that could end past the deadline (maxElapsedMs)', async () => {
    const flaky = await storeWith({ op: 'delete', fault: { type: 'error' } });
    const time = fakeTime();
    const retry = new RetryStorage(flaky, {
      ...time,
      maxAttempts: 100,
      baseDelayMs: 1000,
      maxDelayMs: 1000,
      maxElapsedMs: 5000,
      attemptTimeoutMs: 1000,
      random: () => 0.999,
    });
    const err = await failure(retry.delete('packfile', ID));
    expect(err.code).toBe('transient');
    // Attempts fail at once here: waits of ~1 s each; the last one starts at 4 s, could end at 5 s.
    expect(time.now() + 1000).toBeLessThanOrEqual(5000);
    expect(flaky.calls.delete).toBe(time.sleeps.length + 1);
    expect(flaky.calls.delete).toBe(5);
  });

  it('a silent store: every operation on every kind gives up within the deadline, saying how to wait longer', async () => {
    const policy = DEFAULT_STORE_POLICY;
    const calls: string[] = [];
    for (const [op, run] of [
      ['open', (s: Storage) => s.open()],
      ['create', (s: Storage) => s.create(CONFIG)],
      ['put', (s: Storage) => s.put('lock', ID, new Uint8Array(8))],
      ['put', (s: Storage) => s.put('packfile', ID, new Uint8Array(8))],
      ['get', (s: Storage) => s.get('state', ID)],
      ['list', (s: Storage) => drain(s.list('snapshot'))],
      ['delete', (s: Storage) => s.delete('lock', ID)],
    ] as const) {
      const time = fakeTime();
      // Each call waits the whole attempt timeout, then fails as a silent server's request does.
      const silent = silentStorage(time, policy.attemptTimeoutMs, calls);
      const retry = new RetryStorage(silent, { ...time, deadlineHint: 'timeout= waits longer' });
      const before = calls.length;
      const err = await failure(run(retry));
      expect(err.code, op).toBe('transient');
      expect(time.now(), op).toBeLessThanOrEqual(policy.deadlineMs);
      // 15 s attempts, 50 s deadline: three attempts.
      expect(calls.length - before, op).toBe(3);
      expect(err.message, op).toMatch(/\(gave up after 3 attempts over 4\d s; timeout= waits longer\)$/);
    }
  });

  it('one policy for every kind: a lock put gets the attempts of a packfile put, whatever the failure', async () => {
    for (const code of ['transient', 'unavailable', 'corrupt'] as const) {
      const attempts: Record<string, number> = {};
      for (const kind of ['lock', 'packfile', 'state', 'snapshot'] as const) {
        const flaky = await storeWith({ op: 'put', kind, fault: { type: 'error', code } });
        const err = await failure(new RetryStorage(flaky, fakeTime()).put(kind, ID, new Uint8Array(8)));
        expect(err.code).toBe(code);
        attempts[kind] = flaky.calls.put;
      }
      expect(attempts, code).toEqual({ lock: 6, packfile: 6, state: 6, snapshot: 6 });
    }
    // Under the same seeded faults, a lock put and a packfile put succeed after the same retries.
    for (const kind of ['lock', 'packfile'] as const) {
      const flaky = await storeWith({
        op: 'put',
        nth: [1, 2, 3, 4, 5],
        fault: { type: 'error', code: 'corrupt' },
      });
      await new RetryStorage(flaky, fakeTime()).put(kind, ID, new Uint8Array(8));
      expect(flaky.calls.put, kind).toBe(6);
    }
  });

  it('storePolicy: the timeout is the deadline, an attempt 0.3 of it', () => {
    expect(DEFAULT_STORE_POLICY).toEqual(storePolicy(50_000));
    expect(policyOfTimeout(undefined)).toBe(DEFAULT_STORE_POLICY);
    expect(policyOfTimeout(120)).toMatchObject({
      deadlineMs: 120_000,
      attemptTimeoutMs: 36_000,
      attempts: 6,
    });
    expect(new RetryStorage(new MemoryStorage(), { policy: policyOfTimeout(120) }).policy.deadlineMs).toBe(
      120_000,
    );
  });

  it('retries a corrupt read once only', async () => {
    const flaky = await storeWith({ op: 'get', fault: { type: 'error', code: 'corrupt' } });
    const err = await failure(new RetryStorage(flaky, fakeTime()).get('packfile', ID));
    expect(err.code).toBe('corrupt');
    expect(flaky.calls.get).toBe(2);
    const once = await storeWith({ op: 'get', nth: [1], fault: { type: 'error', code: 'corrupt' } });
    expect(await new RetryStorage(once, fakeTime()).get('packfile', ID)).toHaveLength(100);
  });

  it('re-opens a PutBody for each attempt of a put', async () => {
    // The inner put reads the whole body, then its answer is lost twice.
    const flaky = await storeWith({ op: 'put', nth: [1, 2], fault: { type: 'error', when: 'after' } });
    const bytes = deterministicBytes(5, 1000);
    let opens = 0;
    const body: PutBody = {
      size: bytes.length,
      async *open() {
        opens++;
        yield bytes.subarray(0, 10);
        yield bytes.subarray(10);
      },
    };
    await new RetryStorage(flaky, fakeTime()).put('state', ID, body);
    expect(opens).toBe(3);
    expect(await flaky.get('state', ID)).toEqual(bytes);
  });

  it('create: an attempt whose answer was lost counts as success when the config is ours', async () => {
    const memory = new MemoryStorage();
    const flaky = new FaultInjectingStorage(memory, {
      rules: [{ op: 'create', nth: [1], fault: { type: 'error', when: 'after' } }],
    });
    await new RetryStorage(flaky, fakeTime()).create(CONFIG);
    expect(flaky.calls.create).toBe(2);
    expect(await memory.open()).toEqual(CONFIG);
  });

  it('create: a store made by someone else still fails with already_exists', async () => {
    const memory = new MemoryStorage();
    await memory.create(new Uint8Array([9]));
    const plain = await failure(new RetryStorage(memory, fakeTime()).create(CONFIG));
    expect(plain.code).toBe('already_exists');
    const flaky = new FaultInjectingStorage(memory, {
      rules: [{ op: 'create', nth: [1], fault: { type: 'error' } }],
    });
    const afterRetry = await failure(new RetryStorage(flaky, fakeTime()).create(CONFIG));
    expect(afterRetry.code).toBe('already_exists');
    expect(await memory.open()).toEqual(new Uint8Array([9]));
  });

  it('list: retried while nothing was yielded, not once items were', async () => {
    const memory = new MemoryStorage();
    for (let i = 0; i < 5; i++) await memory.put('snapshot', testResourceId(i), new Uint8Array(i));
    const early = new FaultInjectingStorage(memory, {
      rules: [{ op: 'list', nth: [1, 2], fault: { type: 'error' } }],
    });
    const listed: string[] = [];
    for await (const r of new RetryStorage(early, fakeTime()).list('snapshot')) listed.push(r.id);
    expect(listed.sort()).toEqual([0, 1, 2, 3, 4].map(testResourceId).sort());
    expect(early.calls.list).toBe(3);

    const late = new FaultInjectingStorage(memory, {
      rules: [{ op: 'list', nth: [1], fault: { type: 'error', afterItems: 2 } }],
    });
    const partial: string[] = [];
    const err = await failure(
      (async () => {
        for await (const r of new RetryStorage(late, fakeTime()).list('snapshot')) partial.push(r.id);
      })(),
    );
    expect(err.code).toBe('transient');
    expect(partial).toHaveLength(2);
    expect(late.calls.list).toBe(1);
  });

  it('forwards location, mode and close', async () => {
    const memory = new MemoryStorage({ location: 'memory://x', mode: 'read-only' });
    const retry = new RetryStorage(memory);
    expect(retry.location).toBe('memory://x');
    expect(retry.mode).toBe('read-only');
    await retry.close();
    await expect(memory.open()).rejects.toThrow(/closed/);
  });
});
