/** The S3 source reads more objects at once by default than the other S3 connectors send requests. */
import { DEFAULT_CONCURRENCY } from '@kloset/s3-common';
import { expect, it } from 'vitest';
import { createS3Source, S3_SOURCE_OPTIONS, SOURCE_DEFAULT_CONCURRENCY } from '../src/index.ts';

const params = (options: Record<string, string>) => ({
  location: 's3://127.0.0.1:9/bucket',
  options: { access_key: 'k', secret_access_key: 's', use_tls: 'false', ...options },
});

it('reads 128 objects at once unless told otherwise (the common S3 default is 32)', async () => {
  expect(SOURCE_DEFAULT_CONCURRENCY).toBe(128);
  expect(DEFAULT_CONCURRENCY).toBe(32);
  expect((await createS3Source(params({}))).concurrency).toBe(128);
  expect((await createS3Source(params({ concurrency: '16' }))).concurrency).toBe(16);
  expect(S3_SOURCE_OPTIONS.find((o) => o.name === 'concurrency')?.default).toBe('128');
});
