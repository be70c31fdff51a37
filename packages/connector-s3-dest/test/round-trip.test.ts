/**
 * Bucket -> S3 source -> S3 destination -> another bucket, compared object by object (key, body,
 * headers, user metadata, tags) with an independent client. The records are written as a restore
 * does: directories before their children, files concurrently, with the metadata their content
 * brings (the source's records have `metadataOnOpen`).
 */
import { type EntryAttributes, parentPath, type SourceRecord, splitPath } from '@kloset/connector-contract';
import { S3_SOURCE_OPTIONS, S3Source } from '@kloset/connector-s3-source';
import { readS3Settings } from '@kloset/s3-common';
import {
  deleteTestBucket,
  everyNth,
  s3TestBuckets,
  s3TestParams,
  seedBytes,
  seedObjects,
  startFaultProxy,
  trickyObjects,
  viewObjects,
} from '@kloset/s3-common/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Destination, S3_DESTINATION_OPTIONS, S3Destination } from '../src/index.ts';

const s3 = s3TestBuckets();
const { env, client: plain } = s3;
const MiB = 1024 * 1024;
const FAST = { attempts: 6, baseDelayMs: 5, maxDelayMs: 50 };
const sources: S3Source[] = [];
let src = '';
let dst = '';

beforeAll(async () => {
  src = await s3.create('rt-src');
  dst = await s3.create('rt-dst');
  // `src/` and `dst/` have the same length: the 1,024-byte key still fits after the move.
  await seedObjects(plain, src, 'src/', [
    ...trickyObjects(1024 - 'src/'.length),
    {
      key: 'big/multipart.bin',
      body: seedBytes(99, 11 * MiB + 3),
      contentType: 'application/x-big',
      tags: { size: 'big' },
      multipartPartSize: 5 * MiB,
    },
  ]);
});
afterAll(async () => {
  for (const s of sources) await s.close();
  await s3.dispose();
});

async function scan(host = env.host): Promise<SourceRecord[]> {
  const p = s3TestParams(env, src, 'src');
  const source = new S3Source({
    settings: readS3Settings({ ...p, location: p.location.replace(env.host, host) }, S3_SOURCE_OPTIONS),
    retry: FAST,
  });
  const out: SourceRecord[] = [];
  try {
    for await (const r of source.scan()) out.push(r);
  } finally {
    sources.push(source);
  }
  return out;
}

/** Restores `records` (re-rooted at `root`) like the engine: parents first, files concurrently. */
async function restore(records: SourceRecord[], dest: S3Destination, root = '/'): Promise<void> {
  const inside = records.filter((r) => r.path === root || r.path.startsWith(root === '/' ? '/' : `${root}/`));
  const reroot = (p: string) => (root === '/' ? p : p === root ? '/' : p.slice(root.length));
  const byDepth = new Map<number, SourceRecord[]>();
  for (const r of inside) {
    const d = splitPath(reroot(r.path)).length;
    byDepth.set(d, [...(byDepth.get(d) ?? []), r]);
  }
  for (const d of [...byDepth.keys()].sort((a, b) => a - b)) {
    const level = byDepth.get(d)!;
    let next = 0;
    const worker = async () => {
      while (next < level.length) {
        const r = level[next++]!;
        // As the engine records it: with the metadata the content brings (`metadataOnOpen`).
        const content = r.type === 'file' ? await r.open() : undefined;
        const attrs: EntryAttributes = {
          path: reroot(r.path),
          type: r.type,
          size: r.size,
          mtime: r.mtime,
          metadata: content?.metadata ?? r.metadata,
        };
        expect(parentPath(attrs.path)).toBeDefined();
        const result = await dest.write(attrs, content);
        expect(result.ok, `${r.path}: ${result.error ?? ''}`).toBe(true);
      }
    };
    await Promise.all(Array.from({ length: dest.concurrency }, worker));
  }
  await dest.finish();
}

function destination(
  prefix: string,
  host = env.host,
  options: Record<string, string | number> = {},
): S3Destination {
  const p = s3TestParams(env, dst, prefix, options);
  return new S3Destination({
    settings: readS3Settings({ ...p, location: p.location.replace(env.host, host) }, S3_DESTINATION_OPTIONS),
    retry: FAST,
  });
}

describe('S3 -> S3 round trip on RGW', () => {
  it('every key, body, header, user metadata and tag survives, byte for byte', async () => {
    const records = await scan();
    const dest = destination('dst', env.host, { concurrency: 8 });
    try {
      await dest.prepare();
      await restore(records, dest);
    } finally {
      await dest.close();
    }
    const before = await viewObjects(plain, src, 'src/');
    const after = await viewObjects(plain, dst, 'dst/');
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [key, view] of before) expect(after.get(key), `object ${JSON.stringify(key)}`).toEqual(view);
    expect(before.size).toBeGreaterThan(30);
    expect(before.get('big/multipart.bin')?.tags, 'tags of the multipart object').toEqual({ size: 'big' });
  });

  it('a sub-path restores alone, its keys relative to it', async () => {
    const records = await scan();
    const dest = destination('sub');
    try {
      await dest.prepare();
      await restore(records, dest, '/a');
    } finally {
      await dest.close();
    }
    const before = await viewObjects(plain, src, 'src/a/');
    const after = await viewObjects(plain, dst, 'sub/');
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    expect(after.has('b/c')).toBe(true);
    for (const [key, view] of before) expect(after.get(key), `object ${JSON.stringify(key)}`).toEqual(view);
  });

  it('a restore through 503s, resets and cut bodies still ends byte-identical', async () => {
    const faults = everyNth(4, ['slowdown', 'reset', 'cut-body']);
    const proxy = await startFaultProxy(env.endpoint, faults);
    try {
      const records = await scan(proxy.host);
      const dest = destination('flk', proxy.host, { concurrency: 4 });
      try {
        await dest.prepare();
        await restore(records, dest);
      } finally {
        await dest.close();
      }
      const before = await viewObjects(plain, src, 'src/');
      const after = await viewObjects(plain, dst, 'flk/');
      expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
      for (const [key, view] of before) expect(after.get(key), `object ${JSON.stringify(key)}`).toEqual(view);
      expect(proxy.counts.slowdown + proxy.counts.reset + proxy.counts['cut-body']).toBeGreaterThan(10);
    } finally {
      await proxy.close();
    }
  });

  it('createS3Destination makes a missing bucket', async () => {
    const fresh = `${dst}-new`;
    const d = await createS3Destination(s3TestParams(env, fresh, 'x'));
    try {
      const r = await d.write(
        { path: '/f', type: 'file', size: 2, mtime: { sec: 1, nsec: 0 }, metadata: {} },
        (async function* () {
          yield new Uint8Array([1, 2]);
        })(),
      );
      expect(r.ok, r.error).toBe(true);
      expect([...(await viewObjects(plain, fresh, '')).keys()]).toEqual(['x/f']);
    } finally {
      await d.close();
      await deleteTestBucket(plain, fresh);
    }
  });
});
