/** @kloset/connector-s3-storage: a Kloset store in an S3 bucket. */
export * from './layout.ts';
export * from './manifest.ts';
export * from './object-lock.ts';
export * from './s3-storage.ts';
