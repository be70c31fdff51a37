/** @kloset/connector-s3-storage: a Kloset store in an S3 bucket. */

export * from './as-of-storage.ts';
export * from './layout.ts';
export * from './manifest.ts';
export * from './object-lock.ts';
export * from './retention.ts';
export * from './s3-storage.ts';
export * from './versions.ts';
