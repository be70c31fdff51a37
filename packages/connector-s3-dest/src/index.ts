/** @kloset/connector-s3-dest: restores a snapshot (or a part of it) into an S3 bucket. */
export * from './manifest.ts';
export * from './object-key.ts';
export * from './s3-destination.ts';
