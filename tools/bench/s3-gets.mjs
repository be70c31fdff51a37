#!/usr/bin/env node
// The S3 source's GetObject path alone: every object of BUCKET read with s3-common's GetObject,
// CONCURRENCY at once, bodies drained (with --md5, hashed as the source checks them), and the
// client's CPU time printed. Endpoint and keys from the environment of tools/s3-server/start.sh
// (S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY); run after `npx nx run-many -t build`.
//   node tools/bench/s3-gets.mjs BUCKET [CONCURRENCY] [--md5]
import { createHash } from 'node:crypto';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createS3Connection } from '@kloset/s3-common';
import { benchS3Settings } from './s3-bench-settings.mjs';

const args = process.argv.slice(2);
const md5 = args.includes('--md5');
const [bucket, concurrency = '128'] = args.filter((a) => a !== '--md5');
const settings = benchS3Settings(bucket, 'node tools/bench/s3-gets.mjs BUCKET [CONCURRENCY] [--md5]', {
  concurrency,
});
const conn = createS3Connection(settings);
const keys = [];
let token;
do {
  const page = await conn.client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
  for (const o of page.Contents ?? []) keys.push(o.Key);
  token = page.NextContinuationToken;
} while (token);

const start = performance.now();
const cpu0 = process.cpuUsage();
let next = 0;
let bytes = 0;
await Promise.all(
  Array.from({ length: Number(concurrency) }, async () => {
    while (next < keys.length) {
      const { body } = await conn.getObject({ key: keys[next++] });
      const hash = md5 ? createHash('md5') : undefined;
      for await (const piece of body) {
        bytes += piece.length;
        hash?.update(piece);
      }
      hash?.digest('hex');
    }
  }),
);
const cpu = process.cpuUsage(cpu0);
const s = (us) => (us / 1e6).toFixed(2);
console.log(
  `${keys.length} objects, ${(bytes / 1e6).toFixed(0)} MB in ${((performance.now() - start) / 1000).toFixed(2)} s; ` +
    `client CPU ${s(cpu.user + cpu.system)} s (user ${s(cpu.user)}, system ${s(cpu.system)})${md5 ? ', with MD5' : ''}`,
);
conn.destroy();
