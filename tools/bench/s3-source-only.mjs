#!/usr/bin/env node
// The S3 source alone, without the engine: S3Source.scan() of BUCKET, every file record opened and
// its content drained, `concurrency` at once as the backup engine reads them, and the client's CPU
// time printed. Against s3-gets.mjs (the GetObject path alone) it gives the source's own cost per
// object (listing, key tree, records, metadata); against a backup, the engine's. Endpoint and keys
// from the environment of tools/s3-server/start.sh; run after `npx nx run-many -t build`.
//   node tools/bench/s3-source-only.mjs BUCKET
import { S3Source } from '@kloset/connector-s3-source';
import { benchS3Settings } from './s3-bench-settings.mjs';

const [bucket] = process.argv.slice(2);
const settings = benchS3Settings(bucket, 'node tools/bench/s3-source-only.mjs BUCKET');
const source = new S3Source({ settings });
const start = performance.now();
const cpu0 = process.cpuUsage();
let files = 0;
let dirs = 0;
let bytes = 0;
const inFlight = new Set();
const drain = async (record) => {
  const content = await record.open();
  for await (const piece of content) bytes += piece.length;
};
for await (const record of source.scan()) {
  if (record.type !== 'file') {
    dirs++;
    continue;
  }
  files++;
  while (inFlight.size >= source.concurrency) await Promise.race(inFlight);
  const p = drain(record).finally(() => inFlight.delete(p));
  inFlight.add(p);
}
await Promise.all(inFlight);
const cpu = process.cpuUsage(cpu0);
const s = (us) => (us / 1e6).toFixed(2);
console.log(
  `${files} objects (${dirs} folders), ${(bytes / 1e6).toFixed(0)} MB in ${((performance.now() - start) / 1000).toFixed(2)} s, ` +
    `${source.concurrency} at once; client CPU ${s(cpu.user + cpu.system)} s (user ${s(cpu.user)}, system ${s(cpu.system)})`,
);
await source.close();
