import { ConcurrencyLimitedStorage, type ResourceKind } from '@kloset/connector-contract';
import { MemoryStorage, testResourceId } from '@kloset/connector-contract/testing';
import { describe, expect, it } from 'vitest';

/** A MemoryStorage whose gets and puts take a while and record how many overlap. */
class SlowStorage extends MemoryStorage {
  active = 0;
  maxActive = 0;
  async #slow<T>(fn: () => Promise<T>): Promise<T> {
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return await fn();
    } finally {
      this.active--;
    }
  }
  override get(kind: ResourceKind, id: string) {
    return this.#slow(() => super.get(kind, id));
  }
  override put(kind: ResourceKind, id: string, data: Uint8Array) {
    return this.#slow(() => super.put(kind, id, data));
  }
}

describe('ConcurrencyLimitedStorage', () => {
  it('never has more than maxConcurrent calls in flight, and runs them all', async () => {
    const slow = new SlowStorage();
    const limited = new ConcurrencyLimitedStorage(slow, { maxConcurrent: 3 });
    const ids = Array.from({ length: 20 }, (_, i) => testResourceId(i));
    await Promise.all(ids.map((id, i) => limited.put('packfile', id, new Uint8Array([i]))));
    expect(slow.maxActive).toBe(3);
    const got = await Promise.all(ids.map((id) => limited.get('packfile', id)));
    expect(got.map((b) => b[0])).toEqual(ids.map((_, i) => i));
    expect(slow.maxActive).toBe(3);
    expect(limited.inFlight).toBe(0);
  });

  it('frees the slot of a failed call', async () => {
    const limited = new ConcurrencyLimitedStorage(new MemoryStorage(), { maxConcurrent: 1 });
    await expect(limited.get('packfile', testResourceId(1))).rejects.toMatchObject({ code: 'not_found' });
    await expect(limited.get('packfile', testResourceId(1))).rejects.toMatchObject({ code: 'not_found' });
    expect(limited.inFlight).toBe(0);
  });

  it('a listing does not hold its slot while the caller handles items', async () => {
    const memory = new MemoryStorage();
    for (let i = 0; i < 5; i++) await memory.put('state', testResourceId(i), new Uint8Array([i]));
    const limited = new ConcurrencyLimitedStorage(memory, { maxConcurrent: 1 });
    let read = 0;
    for await (const info of limited.list('state')) {
      await limited.get('state', info.id);
      read++;
    }
    expect(read).toBe(5);
  });

  it('refuses a limit below 1', () => {
    expect(() => new ConcurrencyLimitedStorage(new MemoryStorage(), { maxConcurrent: 0 })).toThrow(
      RangeError,
    );
  });
});
