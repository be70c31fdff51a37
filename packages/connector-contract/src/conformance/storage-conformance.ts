/** The Storage conformance suite: every Storage implementation runs it from its own tests. */
import { describe } from 'vitest';
import { configCases } from './storage-config-cases.ts';
import type { StorageConformanceOptions, StorageFactory } from './storage-harness.ts';
import { leftoverCases } from './storage-leftover-cases.ts';
import { lifecycleCases } from './storage-lifecycle-cases.ts';
import { listingCases } from './storage-listing-cases.ts';
import { resourceCases } from './storage-resource-cases.ts';

/**
 * Registers a `describe` block of Vitest tests checking that a Storage follows the contract of
 * `Storage` (storage/storage.ts): create/open, whole and ranged reads, listing, deletion,
 * overwrite, streamed bodies, atomicity of failed puts, concurrency, id validation, read-only
 * mode when `options.openReadOnly` is given, `replaceConfig` when the storage has it, and `removeLeftovers` when the storage has it (the
 * factory then says how to leave a leftover: `StorageUnderTest.makeLeftover`). Errors are checked by `code`, never by message.
 *
 * Each test calls `factory` for a fresh, empty location and closes the storage, then calls
 * `cleanup`, when it ends. All data is deterministic, so a failure reproduces.
 *
 * @example
 * storageConformance('memory', async () => ({ storage: new MemoryStorage(), cleanup: async () => {} }));
 */
export function storageConformance(
  name: string,
  factory: StorageFactory,
  options: StorageConformanceOptions = {},
): void {
  const timeout = options.timeoutMs ?? 120_000;
  describe(`Storage conformance: ${name}`, () => {
    describe('create and open', () => lifecycleCases(factory, options, timeout));
    describe('put, get and delete', () => resourceCases(factory, timeout));
    describe('list, concurrency and ids', () => listingCases(factory, options, timeout));
    describe('removeLeftovers', () => leftoverCases(factory, options, timeout));
    describe('replaceConfig', () => configCases(factory, options, timeout));
  });
}
