/**
 * The S3 set-up of a test file: the test server's env, an independent client, and the buckets the
 * file uses, all deleted by `dispose` (call it in afterAll).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { createTestBucket, deleteTestBucket, uniqueBucketName } from './buckets.ts';
import { plainS3Client, readS3TestEnv, requireS3, type S3TestEnv } from './s3-test-env.ts';

/** A test file's S3 server, client and throw-away buckets. */
export interface S3TestBuckets {
  readonly env: S3TestEnv;
  /** The independent client (plain SDK) for seeding and verifying. */
  readonly client: S3Client;
  /** Fails with a clear line unless the server answers (checked once per file). */
  ready(): Promise<void>;
  /** Creates a bucket named after `what` (once the server answers) and tracks it for `dispose`. */
  create(what: string): Promise<string>;
  /** A new bucket name, tracked for `dispose`: for buckets the code under test creates. */
  name(what: string): string;
  /** Deletes every tracked bucket (one already gone is fine), then closes the client. */
  dispose(): Promise<void>;
}

/** Reads the test server's env (see `readS3TestEnv`) and opens the client; nothing is sent yet. */
export function s3TestBuckets(env: S3TestEnv = readS3TestEnv()): S3TestBuckets {
  const client = plainS3Client(env);
  const tracked: string[] = [];
  let answered: Promise<void> | undefined;
  const ready = (): Promise<void> => {
    answered ??= requireS3(env);
    return answered;
  };
  const name = (what: string): string => {
    const bucket = uniqueBucketName(what);
    tracked.push(bucket);
    return bucket;
  };
  return {
    env,
    client,
    ready,
    name,
    async create(what) {
      await ready();
      const bucket = await createTestBucket(client, what);
      tracked.push(bucket);
      return bucket;
    },
    async dispose() {
      try {
        await Promise.all(tracked.splice(0).map((bucket) => deleteTestBucket(client, bucket)));
      } finally {
        client.destroy();
      }
    },
  };
}
