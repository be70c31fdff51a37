import { storageConformance } from '@kloset/connector-contract/conformance';
import { MemoryStorage, memoryUnderTest, testResourceId } from '@kloset/connector-contract/testing';
import { describe, expect, it } from 'vitest';

storageConformance('MemoryStorage', async () => memoryUnderTest(new MemoryStorage()), {
  openReadOnly: async (storage) => (storage as MemoryStorage).readOnlyView(),
});

describe('MemoryStorage', () => {
  it('a read-only view shares the data and refuses writes', async () => {
    const storage = new MemoryStorage({ location: 'memory://t' });
    await storage.create(new Uint8Array([1]));
    const view = storage.readOnlyView();
    expect(view.location).toBe('memory://t');
    await storage.put('lock', testResourceId(1), new Uint8Array([2]));
    expect(await view.get('lock', testResourceId(1))).toEqual(new Uint8Array([2]));
    await expect(view.delete('lock', testResourceId(1))).rejects.toMatchObject({ code: 'permission' });
  });

  it('refuses calls after close()', async () => {
    const storage = new MemoryStorage();
    await storage.close();
    await expect(storage.open()).rejects.toMatchObject({ code: 'invalid' });
  });
});
