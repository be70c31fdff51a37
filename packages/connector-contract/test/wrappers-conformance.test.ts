// The wrappers must keep a Storage conformant: run the suite through them.
import { ConcurrencyLimitedStorage, FaultInjectingStorage, RetryStorage } from '@kloset/connector-contract';
import { storageConformance } from '@kloset/connector-contract/conformance';
import { MemoryStorage, memoryUnderTest } from '@kloset/connector-contract/testing';
import { afterAll, expect } from 'vitest';

const flakyStorages: FaultInjectingStorage[] = [];
afterAll(() => {
  // The faulty run is only meaningful if faults were injected (and retried away).
  const injected = flakyStorages.reduce((n, s) => n + s.injected.length, 0);
  expect(injected).toBeGreaterThan(100);
});

storageConformance('RetryStorage over MemoryStorage', async () => {
  const memory = new MemoryStorage();
  return { ...memoryUnderTest(memory), storage: new RetryStorage(memory) };
});

storageConformance('ConcurrencyLimitedStorage(4) over MemoryStorage', async () => {
  const memory = new MemoryStorage();
  return { ...memoryUnderTest(memory), storage: new ConcurrencyLimitedStorage(memory, { maxConcurrent: 4 }) };
});

// A storage failing about 30% of its calls (some after the call went through) must look
// perfectly healthy behind a RetryStorage. Listings fail only before their first item: RetryStorage
// does not restart a listing that has yielded items (it would yield duplicates).
storageConformance('RetryStorage over FaultInjectingStorage (30% transient faults)', async () => {
  const memory = new MemoryStorage();
  const flaky = new FaultInjectingStorage(memory, {
    seed: 42,
    rules: [
      { op: '*', probability: 0.15, fault: { type: 'error', code: 'transient' } },
      ...(['create', 'put', 'get', 'delete'] as const).map((op) => ({
        op,
        probability: 0.15,
        fault: { type: 'error', code: 'unavailable', when: 'after' } as const,
      })),
    ],
  });
  flakyStorages.push(flaky);
  return {
    ...memoryUnderTest(memory),
    storage: new RetryStorage(flaky, { maxAttempts: 30, sleep: async () => {} }),
  };
});
