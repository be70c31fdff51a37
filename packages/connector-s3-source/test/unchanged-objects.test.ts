/**
 * S3Source with a ScanContext against RGW: objects whose listed ETag, size and LastModified equal
 * the previous entry's are recorded without HeadObject or GetObjectTagging (requests counted at
 * a proxy); changed ones are asked for; `refresh_metadata` asks for every object.
 */
import { PutObjectCommand, PutObjectTaggingCommand } from '@aws-sdk/client-s3';
import {
  previousEntryOf as asPrevious,
  type EntryPath,
  type ScanContext,
  type Source,
  type SourceRecord,
} from '@kloset/connector-contract';
import { readS3Settings } from '@kloset/s3-common';
import {
  type FaultProxy,
  s3TestBuckets,
  s3TestParams,
  seedBytes,
  seedObjects,
  startFaultProxy,
} from '@kloset/s3-common/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Source, S3_SOURCE_OPTIONS, S3Source } from '../src/index.ts';

const s3 = s3TestBuckets();
const { env, client: plain } = s3;
const MiB = 1024 * 1024;
const N = 24;
let bucket = '';
let proxy: FaultProxy | undefined;
/** Requests seen by the proxy, by operation. */
const seen = { head: 0, tagging: 0, get: 0, list: 0 };

beforeAll(async () => {
  bucket = await s3.create('source-reuse');
  await seedObjects(plain, bucket, 'r/', [
    ...Array.from({ length: N - 1 }, (_, i) => ({
      key: `d${i % 3}/o${i}`,
      body: seedBytes(i, 100 + i),
      contentType: 'text/x-kloset',
      metadata: { n: String(i) },
      ...(i % 4 === 0 ? { tags: { t: `v${i}` } } : {}),
    })),
    { key: 'multi', body: seedBytes(99, 6 * MiB), multipartPartSize: 5 * MiB, tags: { m: '1' } },
  ]);
  proxy = await startFaultProxy(env.endpoint, (_n, method, path) => {
    if (method === 'HEAD') seen.head++;
    else if (method === 'GET' && /[?&]tagging/.test(path)) seen.tagging++;
    else if (method === 'GET' && /[?&]list-type=2/.test(path)) seen.list++;
    else if (method === 'GET') seen.get++;
    return 'pass';
  });
});
afterAll(async () => {
  await proxy?.close();
  await s3.dispose();
});

function source(options: Record<string, string | boolean> = {}): S3Source {
  const p = s3TestParams(env, bucket, 'r', options);
  const location = p.location.replace(env.host, proxy!.host);
  return new S3Source({
    settings: readS3Settings({ ...p, location }, S3_SOURCE_OPTIONS),
    refreshMetadata: options.refresh_metadata === true,
  });
}

/** Scans `s` (closing it) and returns its records by path and the requests it made. */
async function scan(
  s: Source,
  context?: ScanContext,
): Promise<{ records: Map<EntryPath, SourceRecord>; requests: typeof seen }> {
  const before = { ...seen };
  const records = new Map<EntryPath, SourceRecord>();
  try {
    for await (const r of s.scan(undefined, context)) records.set(r.path, r);
  } finally {
    await s.close();
  }
  return {
    records,
    requests: {
      head: seen.head - before.head,
      tagging: seen.tagging - before.tagging,
      get: seen.get - before.get,
      list: seen.list - before.list,
    },
  };
}

function contextOf(records: Map<EntryPath, SourceRecord>): ScanContext {
  return {
    previous: async (path) => {
      const r = records.get(path);
      return r?.type === 'file' ? asPrevious(r) : undefined;
    },
  };
}

async function body(r: SourceRecord): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of await r.open()) parts.push(c);
  return Buffer.concat(parts);
}

describe('S3 source: objects unchanged since the previous snapshot', () => {
  it('are recorded from the listing and the previous entry: no HeadObject, no tagging request', async () => {
    const first = await scan(source());
    expect(first.requests).toMatchObject({ head: N, tagging: 7, get: 0 });
    const second = await scan(source(), contextOf(first.records));
    expect(second.requests).toEqual({ head: 0, tagging: 0, get: 0, list: 1 });
    expect([...second.records.keys()].sort()).toEqual([...first.records.keys()].sort());
    for (const [path, r] of second.records)
      expect(asPrevious(r), path).toEqual(asPrevious(first.records.get(path)!));
    const o5 = [...second.records.values()].find((r) => r.metadata['s3.key'] === 'r/d2/o5')!;
    expect(o5.metadata).toMatchObject({ 's3.content-type': 'text/x-kloset', 's3.meta.n': '5' });
    // Their content still opens (the engine opens them when the previous chunks are gone).
    expect((await body(o5)).equals(seedBytes(5, 105))).toBe(true);
    const multi = [...second.records.values()].find((r) => r.metadata['s3.key'] === 'r/multi')!;
    expect((await body(multi)).equals(seedBytes(99, 6 * MiB))).toBe(true);
  });

  it('a rewritten or retagged object is asked for; other metadata changes show with refresh_metadata', async () => {
    const first = await scan(source());
    await plain.send(new PutObjectCommand({ Bucket: bucket, Key: 'r/d1/o1', Body: seedBytes(1000, 50) }));
    // RGW moves LastModified on PutObjectTagging (Amazon S3 does not: there only refresh_metadata
    // sees a new tag).
    await plain.send(
      new PutObjectTaggingCommand({
        Bucket: bucket,
        Key: 'r/d0/o0',
        Tagging: { TagSet: [{ Key: 't', Value: 'changed' }] },
      }),
    );
    const byKey = (m: Map<EntryPath, SourceRecord>, key: string) =>
      [...m.values()].find((r) => r.metadata['s3.key'] === key)!;
    // What the previous snapshot says of r/d1/o4 differs from the object only in a tag, as after
    // a tag change on a server that keeps LastModified.
    const o4 = byKey(first.records, 'r/d1/o4');
    const previous = new Map(first.records);
    previous.set(o4.path, { ...o4, metadata: { ...o4.metadata, 's3.tag.t': 'stale' } });

    const second = await scan(source(), contextOf(previous));
    expect(second.requests).toMatchObject({ head: 2, tagging: 1, get: 0 });
    const rewritten = byKey(second.records, 'r/d1/o1');
    expect(rewritten.size).toBe(50);
    expect(rewritten.changeToken).not.toBe(byKey(first.records, 'r/d1/o1').changeToken);
    expect(rewritten.metadata['s3.meta.n']).toBeUndefined();
    expect(byKey(second.records, 'r/d0/o0').metadata['s3.tag.t']).toBe('changed');
    expect(byKey(second.records, 'r/d1/o4').metadata['s3.tag.t']).toBe('stale');

    const refreshed = await scan(source({ refresh_metadata: true }), contextOf(previous));
    expect(refreshed.requests).toMatchObject({ head: N, tagging: 7, get: 0 });
    expect(byKey(refreshed.records, 'r/d1/o4').metadata['s3.tag.t']).toBe('v4');
    expect(byKey(refreshed.records, 'r/d0/o0').metadata['s3.tag.t']).toBe('changed');
  });

  it('refresh_metadata is an option of the connector, refused when malformed', async () => {
    const params = (value?: string) => {
      const p = s3TestParams(env, bucket, 'r', value !== undefined ? { refresh_metadata: value } : {});
      return { ...p, location: p.location.replace(env.host, proxy!.host) };
    };
    const first = await scan(await createS3Source(params()));
    expect((await scan(await createS3Source(params('true')), contextOf(first.records))).requests.head).toBe(
      N,
    );
    expect((await scan(await createS3Source(params('false')), contextOf(first.records))).requests.head).toBe(
      0,
    );
    expect((await scan(await createS3Source(params()), contextOf(first.records))).requests.head).toBe(0);
    await expect(createS3Source(params('maybe'))).rejects.toThrow(
      /option refresh_metadata: expected true or false/,
    );
  });
});
