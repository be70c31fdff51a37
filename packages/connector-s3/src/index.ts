/** @kloset/connector-s3: the `s3` connector package (source, storage and destination for s3://). */
export * from './manifest.ts';
