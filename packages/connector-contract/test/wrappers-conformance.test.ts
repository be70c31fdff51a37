// The wrappers must keep a Storage conformant: run the suite through them.
import { ConcurrencyLimitedStorage, FaultInjectingStorage, RetryStorage } from '@kloset/connector-contract';
import { storageConformance } from '@kloset/connector-contract/conformance';
import { MemoryStorage } from '@kloset/connector-contract/testing';
import { afterAll, expect } from 'vitest';

const flakyStorages: FaultInjectingStorage[] = [];
afterAll(() => {
  // The faulty run is only meaningful if faults were injected (and retried away).
  const injected = flakyStorages.reduce((n, s) => n + s.injected.length, 0);
  expect(injected).toBeGreaterThan(100);
});

storageConformance('RetryStorage over MemoryStorage', async () => ({
  storage: new RetryStorage(new MemoryStorage()),
  cleanup: async () => {},
}));

storageConformance('ConcurrencyLimitedStorage(4) over MemoryStorage', async () => ({
  storage: new ConcurrencyLimitedStorage(new MemoryStorage(), { maxConcurrent: 4 }),
  cleanup: async () => {},
}));

// A storage failing about 30% of its calls (some after the call went through) must look
// perfectly healthy behind a RetryStorage. Listings fail only before their first item: RetryStorage
// does not restart a listing that has yielded items (it would yield duplicates).
storageConformance('RetryStorage over FaultInjectingStorage (30% transient faults)', async () => {
  const flaky = new FaultInjectingStorage(new MemoryStorage(), {
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
    storage: new RetryStorage(flaky, { maxAttempts: 30, sleep: async () => {} }),
    cleanup: async () => {},
  };
});
