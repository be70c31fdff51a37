/** Test helpers for the S3 connectors: the test server's env, an independent client, buckets, seeding. */
export * from './buckets.ts';
export * from './demo-bucket.ts';
export * from './fault-proxy.ts';
export * from './incomplete-upload.ts';
export * from './malformed-server.ts';
export * from './s3-test-env.ts';
export * from './seed.ts';
export * from './test-buckets.ts';
