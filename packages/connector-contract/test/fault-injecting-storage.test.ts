import { FaultInjectingStorage, type FaultRule, isConnectorError } from '@kloset/connector-contract';
import { deterministicBytes, MemoryStorage, testResourceId } from '@kloset/connector-contract/testing';
import { describe, expect, it } from 'vitest';

const ID = testResourceId(1);
const BYTES = deterministicBytes(1, 1000);

async function memoryWithPackfile(): Promise<MemoryStorage> {
  const memory = new MemoryStorage();
  await memory.put('packfile', ID, BYTES);
  return memory;
}

/** Which of `n` get() calls failed, as 1-based call numbers. */
async function failingGets(storage: FaultInjectingStorage, n: number): Promise<number[]> {
  const failed: number[] = [];
  for (let i = 1; i <= n; i++) {
    try {
      await storage.get('packfile', ID);
    } catch (err) {
      if (!isConnectorError(err, 'transient')) throw err;
      failed.push(i);
    }
  }
  return failed;
}

describe('FaultInjectingStorage', () => {
  it('fails exactly the Nth matching calls, and logs them', async () => {
    const storage = new FaultInjectingStorage(await memoryWithPackfile(), {
      rules: [{ op: 'get', nth: [2, 4], fault: { type: 'error' } }],
    });
    expect(await failingGets(storage, 6)).toEqual([2, 4]);
    expect(storage.calls.get).toBe(6);
    expect(storage.injected).toEqual([
      { op: 'get', target: `packfile/${ID}`, rule: 0, fault: 'error' },
      { op: 'get', target: `packfile/${ID}`, rule: 0, fault: 'error' },
    ]);
  });

  it('fails a seeded fraction of calls: same seed, same calls', async () => {
    const rules: FaultRule[] = [{ op: 'get', probability: 0.25, fault: { type: 'error' } }];
    const a = await failingGets(
      new FaultInjectingStorage(await memoryWithPackfile(), { rules, seed: 7 }),
      1000,
    );
    const b = await failingGets(
      new FaultInjectingStorage(await memoryWithPackfile(), { rules, seed: 7 }),
      1000,
    );
    const c = await failingGets(
      new FaultInjectingStorage(await memoryWithPackfile(), { rules, seed: 8 }),
      1000,
    );
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(a.length).toBeGreaterThan(200);
    expect(a.length).toBeLessThan(300);
  });

  it('matches rules by operation and kind, and honours limit', async () => {
    const memory = await memoryWithPackfile();
    await memory.put('state', ID, BYTES);
    const storage = new FaultInjectingStorage(memory, {
      rules: [{ op: 'get', kind: 'state', limit: 2, fault: { type: 'error', code: 'unavailable' } }],
    });
    await expect(storage.get('packfile', ID)).resolves.toEqual(BYTES);
    await expect(storage.get('state', ID)).rejects.toMatchObject({ code: 'unavailable' });
    await expect(storage.get('state', ID)).rejects.toMatchObject({ code: 'unavailable' });
    await expect(storage.get('state', ID)).resolves.toEqual(BYTES);
    await expect(storage.put('state', ID, BYTES)).resolves.toBeUndefined();
  });

  it("'before' faults never reach the inner storage; 'after' faults do", async () => {
    const memory = new MemoryStorage();
    const storage = new FaultInjectingStorage(memory, {
      rules: [
        { op: 'put', nth: [1], fault: { type: 'error' } },
        { op: 'put', nth: [2], fault: { type: 'error', when: 'after' } },
      ],
    });
    await expect(storage.put('lock', testResourceId(1), BYTES)).rejects.toMatchObject({ code: 'transient' });
    await expect(storage.put('lock', testResourceId(2), BYTES)).rejects.toMatchObject({ code: 'transient' });
    expect([...memory.store.resources.lock.keys()]).toEqual([testResourceId(2)]);
  });

  it('truncates or corrupts reads silently', async () => {
    const storage = new FaultInjectingStorage(await memoryWithPackfile(), {
      seed: 3,
      rules: [
        { op: 'get', nth: [1, 2], fault: { type: 'truncate' } },
        { op: 'get', nth: [3, 4], fault: { type: 'corrupt' } },
      ],
    });
    for (let i = 0; i < 2; i++) {
      const got = await storage.get('packfile', ID);
      expect(got.length).toBeLessThan(BYTES.length);
      expect(got).toEqual(BYTES.subarray(0, got.length));
    }
    for (let i = 0; i < 2; i++) {
      const got = await storage.get('packfile', ID, { offset: 100, length: 500 });
      expect(got).toHaveLength(500);
      const diffs = [...got].filter((b, j) => b !== BYTES[100 + j]).length;
      expect(diffs).toBe(1);
    }
    expect(await storage.get('packfile', ID)).toEqual(BYTES);
  });

  it('fails a listing after some items', async () => {
    const memory = new MemoryStorage();
    for (let i = 0; i < 5; i++) await memory.put('snapshot', testResourceId(i), new Uint8Array(1));
    const storage = new FaultInjectingStorage(memory, {
      rules: [{ op: 'list', nth: [1], fault: { type: 'error', afterItems: 3 } }],
    });
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const r of storage.list('snapshot')) seen.push(r.id);
      })(),
    ).rejects.toMatchObject({ code: 'transient' });
    expect(seen).toHaveLength(3);
    const again: string[] = [];
    for await (const r of storage.list('snapshot')) again.push(r.id);
    expect(again).toHaveLength(5);
  });

  it('refuses rules that cannot apply', () => {
    const memory = new MemoryStorage();
    expect(
      () => new FaultInjectingStorage(memory, { rules: [{ op: 'put', fault: { type: 'corrupt' } }] }),
    ).toThrow(/get only/);
    expect(
      () =>
        new FaultInjectingStorage(memory, {
          rules: [{ op: 'get', probability: 2, fault: { type: 'error' } }],
        }),
    ).toThrow(/probability/);
  });
});
