/**
 * The crypto layer of kloset-core (FORMAT.md §3, §4): providers, keys, sealing and compression.
 */
export * from './compression.ts';
export * from './errors.ts';
export * from './kdf.ts';
export * from './key-ring.ts';
export * from './master-key.ts';
export * from './noble-provider.ts';
export * from './node-provider.ts';
export type * from './provider.ts';
export * from './seal.ts';
