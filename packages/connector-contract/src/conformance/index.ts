/**
 * Conformance suites for connector implementations. They register Vitest tests, so this entry
 * needs `vitest` (a peer dependency); the main entry of the package never imports it.
 */
export * from './storage-conformance.ts';
export type { StorageConformanceOptions, StorageFactory, StorageUnderTest } from './storage-harness.ts';
