/**
 * The repository layer: Repository (the BlobStore and ResourceStore the engines use), the local
 * index cache, states, locks and the errors of this layer.
 */
export * from './blob-reader.ts';
export * from './blob-store.ts';
export * from './errors.ts';
export * from './index-cache.ts';
export * from './index-sync.ts';
export * from './lock-codec.ts';
export * from './locks.ts';
export * from './repository.ts';
export * from './resource-store.ts';
export * from './state-codec.ts';
