/** Test helpers for connectors and the core: no dependency on a test framework. */
export * from './deterministic-data.ts';
export * from './memory-destination.ts';
export * from './memory-source.ts';
export * from './memory-storage.ts';
