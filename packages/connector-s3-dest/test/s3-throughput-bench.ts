/**
 * S3 connector throughput on the test server (not a test): from packages/connector-s3-dest,
 * `node --conditions=kloset-source test/s3-throughput-bench.ts`. Seeds a bucket with N tiny objects
 * and a few large ones, then prints, for each concurrency in CONCURRENCY:
 * - source: a scan (ListObjectsV2 + one HeadObject per object), objects/s, next to a plain listing;
 * - destination: N tiny PutObjects through S3Destination.write, objects/s;
 * - large objects: GetObject streams read LARGE_PARALLEL at a time, and multipart uploads through
 *   S3Destination.write, MiB/s.
 * Env: N (10000), CONCURRENCY (8,16,32,64), LARGE (4), LARGE_MIB (64), LARGE_PARALLEL (4).
 * The machine's load changes the figures: run it on a quiet machine and compare runs side by side.
 */
import { randomBytes } from 'node:crypto';
import type { EntryAttributes, SourceRecord } from '@kloset/connector-contract';
import { S3_SOURCE_OPTIONS, S3Source } from '@kloset/connector-s3-source';
import { readS3Settings } from '@kloset/s3-common';
import {
  createTestBucket,
  deleteTestBucket,
  listPages,
  plainS3Client,
  readS3TestEnv,
  requireS3,
  s3TestParams,
  seedBytes,
  seedObjects,
} from '@kloset/s3-common/testing';
import { S3_DESTINATION_OPTIONS, S3Destination } from '../src/index.ts';

const N = Number(process.env.N ?? 10_000);
const LEVELS = (process.env.CONCURRENCY ?? '8,16,32,64').split(',').map(Number);
const LARGE = Number(process.env.LARGE ?? 4);
const LARGE_MIB = Number(process.env.LARGE_MIB ?? 64);
const LARGE_PARALLEL = Number(process.env.LARGE_PARALLEL ?? 4);
const MiB = 1024 * 1024;

const env = readS3TestEnv();
const plain = plainS3Client(env);

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Client CPU (user + system) of the last `seconds` call, in seconds. */
let lastCpu = 0;

/** Wall time of `f` in seconds; its CPU time goes to `lastCpu`. */
async function seconds(f: () => Promise<unknown>): Promise<number> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await f();
  const c = process.cpuUsage(c0);
  lastCpu = (c.user + c.system) / 1e6;
  return (performance.now() - t0) / 1000;
}

/** `client CPU 1.2 s (35% of one core)` for the last `seconds` call, which lasted `wall` s. */
function cpu(wall: number): string {
  return `client CPU ${lastCpu.toFixed(1)} s (${((100 * lastCpu) / wall).toFixed(0)}% of one core)`;
}

/** Runs `work` on items 0..n-1, `parallel` at a time. */
async function pool(n: number, parallel: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) await work(next++);
  };
  await Promise.all(Array.from({ length: Math.min(parallel, n) }, worker));
}

function source(bucket: string, prefix: string, concurrency: number): S3Source {
  return new S3Source({
    settings: readS3Settings(s3TestParams(env, bucket, prefix, { concurrency }), S3_SOURCE_OPTIONS),
  });
}

function destination(bucket: string, prefix: string, concurrency: number): S3Destination {
  return new S3Destination({
    settings: readS3Settings(s3TestParams(env, bucket, prefix, { concurrency }), S3_DESTINATION_OPTIONS),
  });
}

function fileEntry(path: string, size: number): EntryAttributes {
  return { path, type: 'file', size, mtime: { sec: 1_700_000_000, nsec: 0 }, metadata: {} };
}

async function* pieces(data: Uint8Array, size = MiB): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
}

async function scanFiles(s: S3Source): Promise<SourceRecord[]> {
  const files: SourceRecord[] = [];
  try {
    for await (const r of s.scan()) if (r.type === 'file') files.push(r);
  } finally {
    await s.close();
  }
  return files;
}

async function main(): Promise<void> {
  await requireS3(env);
  const src = await createTestBucket(plain, 'bench-src');
  const dst = await createTestBucket(plain, 'bench-dst');
  try {
    const seedS = await seconds(() =>
      seedObjects(
        plain,
        src,
        'small/',
        Array.from({ length: N }, (_, i) => ({
          key: `f${i % 50}/o${i}`,
          body: seedBytes(i, 1 + (i % 64)),
        })),
        32,
      ),
    );
    say(`seed: ${N} PutObject (plain SDK, 32 in flight) ${seedS.toFixed(1)} s, ${(N / seedS).toFixed(0)}/s`);
    const large = Array.from({ length: LARGE }, () => randomBytes(LARGE_MIB * MiB));
    await seedObjects(
      plain,
      src,
      'large/',
      large.map((body, i) => ({ key: `l${i}`, body })),
      2,
    );
    let listed = 0;
    const listS = await seconds(async () => {
      for await (const page of listPages(plain, src, 'small/')) listed += page.length;
    });
    say(`plain listing: ${listed} keys ${listS.toFixed(2)} s`);

    for (const c of LEVELS) {
      let files = 0;
      const scanS = await seconds(async () => {
        files = (await scanFiles(source(src, 'small', c))).length;
      });
      say(
        `source concurrency ${c}: scan (list + HeadObject) ${files} objects ${scanS.toFixed(1)} s, ${(files / scanS).toFixed(0)}/s, ${cpu(scanS)}`,
      );
    }
    for (const c of LEVELS) {
      const d = destination(dst, `small-${c}`, c);
      const body = new Uint8Array(32);
      let failures = 0;
      const putS = await seconds(async () => {
        await d.prepare();
        await pool(N, c, async (i) => {
          const r = await d.write(fileEntry(`/o${i}`, body.length), pieces(body));
          if (!r.ok) failures++;
        });
      });
      await d.close();
      say(
        `destination concurrency ${c}: ${N} PutObject ${putS.toFixed(1)} s, ${(N / putS).toFixed(0)}/s, ${failures} failed, ${cpu(putS)}`,
      );
    }

    const total = LARGE * LARGE_MIB;
    for (const c of LEVELS) {
      const records = await scanFiles(source(src, 'large', c));
      const getS = await seconds(() =>
        pool(records.length, LARGE_PARALLEL, async (i) => {
          for await (const _ of await records[i]!.open()) {
            // read only
          }
        }),
      );
      const getCpu = cpu(getS);
      const d = destination(dst, `large-${c}`, c);
      const putS = await seconds(async () => {
        await d.prepare();
        await pool(LARGE, LARGE_PARALLEL, async (i) => {
          const r = await d.write(fileEntry(`/l${i}`, large[i]!.length), pieces(large[i]!));
          if (!r.ok) throw new Error(r.error);
        });
      });
      await d.close();
      say(
        `large, concurrency ${c}, ${LARGE_PARALLEL} objects at once (${LARGE} x ${LARGE_MIB} MiB): ` +
          `GetObject ${(total / getS).toFixed(0)} MiB/s, ${getCpu}; ` +
          `multipart upload ${(total / putS).toFixed(0)} MiB/s, ${cpu(putS)}`,
      );
    }
  } finally {
    await Promise.all([deleteTestBucket(plain, src), deleteTestBucket(plain, dst)]);
    plain.destroy();
  }
}

await main();
