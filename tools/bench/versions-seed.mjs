#!/usr/bin/env node
// The buckets of tools/bench/versions.sh: a versioned bucket of TOTAL versions in all (delete markers
// counted) on the S3 test server of $KLOSET_S3_ENV, in the shape of issue 16's "a key with 10,000
// versions; 100,000 versions in all":
//   - hot/k.txt: TOTAL / 10 versions (a few hundred bytes each, user metadata on every tenth);
//   - (TOTAL - TOTAL / 10) / 3 keys d000/o000000.txt.. (folders of 1,000), key i with 1 + i % 5
//     versions (3 on average) of 200-600 bytes: i % 10 = 3 ends in a delete marker (the key deleted),
//     i % 10 = 7 has a delete marker between two versions (deleted, then written again), i % 4 = 0
//     has user metadata and tags on each version.
// Idempotent and resumable: the bucket's versions are listed first and each key gets only the
// versions it lacks (a key's versions are deterministic: the j-th is always the same PUT or delete),
// so a complete bucket of an earlier run is kept as it is (the memstore loses it when RGW restarts).
// Keys are written CONCURRENCY at once, each key's versions in order; the hot key by a lane of its
// own with HOT_PIPELINE PUTs in flight (1: one after the other).
// Prints one JSON line: the counts, what it wrote and how long it took, and the LastModified range
// of the bucket's versions with its middle (the time of versions.sh's restore -at).
//   node --conditions=kloset-source tools/bench/versions-seed.mjs BUCKET TOTAL [CONCURRENCY] [HOT_PIPELINE]
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  HeadBucketCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { listingKeyDecoder } from '@kloset/s3-common';
import { plainS3Client, readS3TestEnv, requireS3, seedBytes } from '@kloset/s3-common/testing';

const [bucket, totalArg, concurrencyArg = '48', pipelineArg = '8'] = process.argv.slice(2);
const total = Number(totalArg);
const concurrency = Number(concurrencyArg);
const pipeline = Number(pipelineArg);
if (
  !bucket ||
  !Number.isInteger(total) ||
  total < 40 ||
  total % 10 !== 0 ||
  !(concurrency >= 1) ||
  !(pipeline >= 1)
) {
  console.error(
    'usage: node --conditions=kloset-source tools/bench/versions-seed.mjs BUCKET TOTAL [CONCURRENCY] [HOT_PIPELINE]  (TOTAL a multiple of 10)',
  );
  process.exit(2);
}
const HOT_KEY = 'hot/k.txt';
const hotVersions = total / 10;
const keyCount = Math.floor((total - hotVersions) / 3);
const keyOf = (i) => `d${String(Math.floor(i / 1000)).padStart(3, '0')}/o${String(i).padStart(6, '0')}.txt`;
const versionsOf = (i) => 1 + (i % 5);
const isDeleteMarker = (i, j) => (i % 10 === 3 && j === versionsOf(i) - 1) || (i % 10 === 7 && j === 1);

const env = readS3TestEnv();
await requireS3(env);
const client = plainS3Client(env);

/** Version count per key and the LastModified range of the whole bucket, every page listed. */
async function census() {
  const counts = new Map();
  let first = Infinity;
  let last = -Infinity;
  let keyMarker;
  let idMarker;
  for (;;) {
    const page = await client.send(
      new ListObjectVersionsCommand({
        Bucket: bucket,
        EncodingType: 'url',
        ...(keyMarker !== undefined ? { KeyMarker: keyMarker, VersionIdMarker: idMarker } : {}),
      }),
    );
    const decode = listingKeyDecoder(page.EncodingType);
    for (const v of [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]) {
      const key = decode(v.Key ?? '');
      counts.set(key, (counts.get(key) ?? 0) + 1);
      const t = v.LastModified?.getTime() ?? 0;
      if (t < first) first = t;
      if (t > last) last = t;
    }
    if (!page.IsTruncated) break;
    keyMarker = decode(page.NextKeyMarker ?? '');
    idMarker = page.NextVersionIdMarker;
  }
  return { counts, first, last };
}

let exists = true;
try {
  await client.send(new HeadBucketCommand({ Bucket: bucket }));
} catch {
  exists = false;
}
if (!exists) {
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  await client.send(
    new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }),
  );
}

const before = exists ? await census() : { counts: new Map() };
const expected = new Map([[HOT_KEY, hotVersions]]);
for (let i = 0; i < keyCount; i++) expected.set(keyOf(i), versionsOf(i));
for (const [key, n] of before.counts) {
  if ((expected.get(key) ?? 0) < n) {
    console.error(
      `bucket ${bucket}: key ${key} has ${n} versions, more than the ${expected.get(key) ?? 0} of this benchmark: use another TOTAL or empty it`,
    );
    process.exit(1);
  }
}

/** Writes version j of key i (a PUT, or a delete marker). */
async function writeVersion(i, j) {
  const key = keyOf(i);
  if (isDeleteMarker(i, j)) {
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    return;
  }
  const tagged = i % 4 === 0;
  await client.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: seedBytes(i * 8 + j + 1, 200 + ((i * 7 + j * 13) % 401)),
      ContentType: 'application/octet-stream',
      ...(tagged
        ? { Metadata: { rev: String(j), owner: `team-${i % 7}` }, Tagging: `rev=${j}&key=${i}` }
        : {}),
    }),
  );
}

/** The hot key's versions from `from` on, `pipeline` PUTs in flight. */
async function writeHot(from) {
  const start = performance.now();
  let next = from;
  await Promise.all(
    Array.from({ length: Math.min(pipeline, hotVersions - from) }, async () => {
      while (next < hotVersions) {
        const j = next++;
        await client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: HOT_KEY,
            Body: new TextEncoder().encode(`hot version ${j}\n`.repeat(20)),
            ...(j % 10 === 0 ? { Metadata: { rev: String(j) } } : {}),
          }),
        );
      }
    }),
  );
  return (performance.now() - start) / 1000;
}

const todo = [];
let wrote = 0;
for (let i = 0; i < keyCount; i++) {
  const have = before.counts.get(keyOf(i)) ?? 0;
  if (have < versionsOf(i)) todo.push([i, have]);
}
const hotHave = before.counts.get(HOT_KEY) ?? 0;
wrote += hotVersions - hotHave;
const start = performance.now();
let next = 0;
const [hotSeconds] = await Promise.all([
  writeHot(hotHave),
  ...Array.from({ length: Math.min(concurrency, todo.length) }, async () => {
    while (next < todo.length) {
      const [i, have] = todo[next++];
      for (let j = have; j < versionsOf(i); j++) {
        await writeVersion(i, j);
        wrote++;
      }
    }
  }),
]);
const seconds = (performance.now() - start) / 1000;
const after = wrote > 0 ? await census() : before;
let versions = 0;
for (const n of after.counts.values()) versions += n;
client.destroy();
if (versions !== total) {
  console.error(`bucket ${bucket}: ${versions} versions after seeding, expected ${total}`);
  process.exit(1);
}
console.log(
  JSON.stringify({
    bucket,
    versions,
    keys: after.counts.size,
    hot_versions: hotVersions,
    wrote,
    seconds: Number(seconds.toFixed(1)),
    hot_seconds: Number((hotHave < hotVersions ? hotSeconds : 0).toFixed(1)),
    hot_pipeline: pipeline,
    first: new Date(after.first).toISOString(),
    last: new Date(after.last).toISOString(),
    middle: new Date(Math.round((after.first + after.last) / 2)).toISOString(),
  }),
);
