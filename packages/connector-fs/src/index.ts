export * from './destination/fs-destination.ts';
export * from './inline-calls.ts';
export * from './location.ts';
export * from './manifest.ts';
export * from './source/fs-source.ts';
export * from './storage/fs-storage.ts';
export { CONFIG_FILE, KIND_DIRS } from './storage/layout.ts';
