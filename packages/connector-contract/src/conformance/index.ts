/**
 * Conformance suites for connector implementations. They register Vitest tests, so this entry
 * needs `vitest` (a peer dependency); the main entry of the package never imports it.
 */
export * from './destination-conformance.ts';
export type {
  DestinationCapabilities,
  DestinationSetup,
  DestinationUnderTest,
  ReadBackEntry,
  TreeEntry,
} from './destination-tree.ts';
export { destinationTree, splitParts, streamParts } from './destination-tree.ts';
export * from './source-conformance.ts';
export * from './source-fixture.ts';
export * from './storage-conformance.ts';
export type { StorageConformanceOptions, StorageFactory, StorageUnderTest } from './storage-harness.ts';
