import { storageConformance } from '@kloset/connector-contract/conformance';
import { MemoryStorage } from '@kloset/connector-contract/testing';

storageConformance('MemoryStorage', async () => ({ storage: new MemoryStorage(), cleanup: async () => {} }), {
  openReadOnly: async (storage) => (storage as MemoryStorage).readOnlyView(),
});
