// The S3 settings of the benchmark scripts that talk to the test server directly (s3-gets.mjs,
// s3-source-only.mjs): BUCKET on $S3_ENDPOINT with the keys of tools/s3-server/start.sh's env file.
// Prints `usage` and exits 2 when the bucket or the endpoint is missing.
import { readS3Settings, S3_COMMON_OPTIONS } from '@kloset/s3-common';

/** S3Settings for `bucket`, with extra connector `options` (strings, as on a command line). */
export function benchS3Settings(bucket, usage, options = {}) {
  const endpoint = process.env.S3_ENDPOINT;
  if (!bucket || !endpoint) {
    console.error(`usage: ${usage}  (S3_ENDPOINT and keys in the environment)`);
    process.exit(2);
  }
  const url = new URL(endpoint);
  return readS3Settings(
    {
      location: `s3://${url.host}/${bucket}`,
      options: {
        access_key: process.env.AWS_ACCESS_KEY_ID,
        secret_access_key: process.env.AWS_SECRET_ACCESS_KEY,
        use_tls: String(url.protocol === 'https:'),
        ...options,
      },
    },
    S3_COMMON_OPTIONS,
  );
}
