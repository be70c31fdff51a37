/**
 * The contract's Destination conformance suite, run on S3Destination against the RGW test server:
 * into a bucket without versioning, and into a versioned one (keepsVersions).
 */
import {
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketVersioningCommand,
} from '@aws-sdk/client-s3';
import type { EntryPath } from '@kloset/connector-contract';
import {
  destinationConformance,
  destinationVersionsConformance,
  type ReadBackEntry,
} from '@kloset/connector-contract/conformance';
import { objectMetadata } from '@kloset/s3-common';
import { emptyPrefix, s3TestBuckets, s3TestParams } from '@kloset/s3-common/testing';
import { afterAll, beforeAll } from 'vitest';
import { createS3Destination } from '../src/index.ts';

const s3 = s3TestBuckets();
const { env, client: plain } = s3;
let plainBucket = '';
let versionedBucket = '';
let n = 0;

beforeAll(async () => {
  plainBucket = await s3.create('dest-conf');
  versionedBucket = await s3.create('dest-conf-v');
  await plain.send(
    new PutBucketVersioningCommand({
      Bucket: versionedBucket,
      VersioningConfiguration: { Status: 'Enabled' },
    }),
  );
});
afterAll(async () => {
  await s3.dispose();
});

/** Everything under `prefix`, read back with the plain SDK, by path (`/` + key minus the prefix). */
async function readBack(bucket: string, prefix: string): Promise<Map<EntryPath, ReadBackEntry>> {
  const out = new Map<EntryPath, ReadBackEntry>();
  let token: string | undefined;
  do {
    const page = await plain.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        ...(token ? { ContinuationToken: token } : {}),
      }),
    );
    for (const o of page.Contents ?? []) {
      const key = o.Key ?? '';
      const head = await plain.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      const tags = head.TagCount
        ? (await plain.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }))).TagSet
        : [];
      const got = await plain.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      out.set(`/${key.slice(prefix.length)}`, {
        type: 'file',
        bytes: await got.Body!.transformToByteArray(),
        metadata: objectMetadata(key, head, tags ?? []),
      });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

const capabilities = {
  directories: false,
  fileMetadata: (path: string) => ({
    's3.content-type': path.endsWith('.txt') ? 'text/plain; charset=utf-8' : 'application/octet-stream',
    's3.cache-control': 'no-cache',
    's3.meta.restored-from': 'conformance',
    's3.tag.suite': 'destination',
  }),
};

/** A fresh prefix of `bucket` per test, read back with the plain SDK. */
function setupIn(bucket: () => string) {
  return async () => {
    const b = bucket();
    const prefix = `restore-${++n}/`;
    const destination = await createS3Destination(s3TestParams(env, b, prefix, { concurrency: 8 }));
    return {
      destination,
      readBack: () => readBack(b, prefix),
      cleanup: () => emptyPrefix(plain, b, prefix),
    };
  };
}

destinationConformance(
  'S3 on RGW',
  setupIn(() => plainBucket),
  capabilities,
);
// The cases of versions again on a versioned bucket (not the others: RGW ignores the
// If-None-Match: * of createOnly on a versioned bucket).
destinationVersionsConformance(
  'S3 on RGW, versioned bucket',
  setupIn(() => versionedBucket),
  { ...capabilities, keepsVersions: true },
);
