#!/usr/bin/env node
// The bucket of tools/bench/scale.sh --bucket: N objects of 1 KiB (keys d00000/o0000000.bin, folders
// of 1,000, each body different), on the S3 test server of $KLOSET_S3_ENV. Creates the bucket when
// missing and PUTs only the keys it lacks, CONCURRENCY at once, so a bucket seeded by an earlier run
// is kept as it is. Prints how many objects it PUT.
//   node --conditions=kloset-source tools/bench/scale-seed.mjs BUCKET N [CONCURRENCY]
import { CreateBucketCommand, HeadBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { listPages, plainS3Client, readS3TestEnv, requireS3, seedBytes } from '@kloset/s3-common/testing';

const [bucket, count, concurrency = '48'] = process.argv.slice(2);
const n = Number(count);
if (!bucket || !Number.isInteger(n) || n < 1) {
  console.error('usage: node --conditions=kloset-source tools/bench/scale-seed.mjs BUCKET N [CONCURRENCY]');
  process.exit(2);
}
const env = readS3TestEnv();
await requireS3(env);
const client = plainS3Client(env);
const keyOf = (i) => `d${String(Math.floor(i / 1000)).padStart(5, '0')}/o${String(i).padStart(7, '0')}.bin`;

let exists = true;
try {
  await client.send(new HeadBucketCommand({ Bucket: bucket }));
} catch {
  exists = false;
}
if (!exists) await client.send(new CreateBucketCommand({ Bucket: bucket }));

const present = new Set();
if (exists) for await (const page of listPages(client, bucket, '')) for (const o of page) present.add(o.key);
const missing = [];
for (let i = 0; i < n; i++) if (!present.has(keyOf(i))) missing.push(i);
const extra = present.size - (n - missing.length);
if (extra > 0) {
  console.error(
    `bucket ${bucket} holds ${extra} objects that are not among the ${n} of this benchmark: use another N or empty it`,
  );
  process.exit(1);
}

const start = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: Math.min(Number(concurrency), missing.length) }, async () => {
    while (next < missing.length) {
      const i = missing[next++];
      await client.send(
        new PutObjectCommand({ Bucket: bucket, Key: keyOf(i), Body: seedBytes(i + 1, 1024) }),
      );
    }
  }),
);
client.destroy();
console.log(
  `bucket ${bucket}: ${n} objects of 1 KiB, ${missing.length} PUT in ${((performance.now() - start) / 1000).toFixed(1)} s`,
);
