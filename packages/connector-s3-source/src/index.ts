/** @kloset/connector-s3-source: backs up the objects of an S3 bucket (or of a prefix of it). */
export * from './key-tree.ts';
export * from './listing.ts';
export * from './manifest.ts';
export * from './object-reader.ts';
export * from './s3-source.ts';
export * from './version-listing.ts';
