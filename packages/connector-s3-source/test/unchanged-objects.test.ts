/**
 * S3Source with a ScanContext against RGW: objects whose listed ETag, size and LastModified equal
 * the previous entry's are recorded without HeadObject or GetObjectTagging (requests counted at
 * a proxy); new and changed ones take their headers from the GetObject that reads them (and
 * GetObjectTagging when tagged), no HeadObject; `refresh_metadata` asks HeadObject for every object.
 */
import { PutObjectCommand, PutObjectTaggingCommand } from '@aws-sdk/client-s3';
import {
  previousEntryOf as asPrevious,
  type EntryMetadata,
  type EntryPath,
  type PreviousEntry,
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

/**
 * Scans `s` (closing it) and returns its records by path and the requests it made. With `read`,
 * every record with `metadataOnOpen` is read (as the engine does) and `complete` has the entries
 * as the snapshot records them.
 */
async function scan(
  s: Source,
  context?: ScanContext,
  read = false,
): Promise<{
  records: Map<EntryPath, SourceRecord>;
  complete: Map<EntryPath, PreviousEntry>;
  requests: typeof seen;
}> {
  const before = { ...seen };
  const records = new Map<EntryPath, SourceRecord>();
  const complete = new Map<EntryPath, PreviousEntry>();
  try {
    for await (const r of s.scan(undefined, context)) records.set(r.path, r);
    for (const [path, r] of records) {
      const opened = read && r.metadataOnOpen === true ? await body(r) : undefined;
      complete.set(path, { ...asPrevious(r), metadata: opened?.metadata ?? r.metadata });
    }
  } finally {
    await s.close();
  }
  return {
    records,
    complete,
    requests: {
      head: seen.head - before.head,
      tagging: seen.tagging - before.tagging,
      get: seen.get - before.get,
      list: seen.list - before.list,
    },
  };
}

function contextOf(entries: Map<EntryPath, PreviousEntry>): ScanContext {
  return {
    previous: async (path) => {
      const p = entries.get(path);
      return p?.type === 'file' ? p : undefined;
    },
  };
}

/** The body of `r` and the metadata its content brought. */
async function body(r: SourceRecord): Promise<{ bytes: Buffer; metadata: EntryMetadata | undefined }> {
  const parts: Uint8Array[] = [];
  const content = await r.open();
  for await (const c of content) parts.push(c);
  return { bytes: Buffer.concat(parts), metadata: content.metadata };
}

describe('S3 source: objects unchanged since the previous snapshot', () => {
  it('a first scan asks no HeadObject: reading an object brings its headers (tags when it has some)', async () => {
    const first = await scan(source(), undefined, true);
    expect(first.requests).toEqual({ head: 0, tagging: 7, get: N, list: 1 });
    const o4 = [...first.complete.values()].find((p) => p.metadata['s3.key'] === 'r/d1/o4')!;
    expect(o4.metadata).toMatchObject({
      's3.content-type': 'text/x-kloset',
      's3.meta.n': '4',
      's3.tag.t': 'v4',
      's3.etag': o4.changeToken,
    });
    const multi = [...first.complete.values()].find((p) => p.metadata['s3.key'] === 'r/multi')!;
    expect(multi.metadata['s3.tag.m']).toBe('1');
    // The same as HeadObject tells (refresh_metadata).
    const headed = await scan(source({ refresh_metadata: true }));
    expect(headed.requests).toMatchObject({ head: N, tagging: 7, get: 0 });
    expect(headed.complete).toEqual(first.complete);
  });

  it('are recorded from the listing and the previous entry: no HeadObject, no tagging request', async () => {
    const first = await scan(source(), undefined, true);
    const second = await scan(source(), contextOf(first.complete));
    expect(second.requests).toEqual({ head: 0, tagging: 0, get: 0, list: 1 });
    expect(second.complete).toEqual(first.complete);
    for (const [path, r] of second.records) expect(r.metadataOnOpen, path).toBeUndefined();
    const o5 = [...second.records.values()].find((r) => r.metadata['s3.key'] === 'r/d2/o5')!;
    expect(o5.metadata).toMatchObject({ 's3.content-type': 'text/x-kloset', 's3.meta.n': '5' });
    // Their content still opens (the engine opens them when the previous chunks are gone).
    expect((await body(o5)).bytes.equals(seedBytes(5, 105))).toBe(true);
    const multi = [...second.records.values()].find((r) => r.metadata['s3.key'] === 'r/multi')!;
    expect((await body(multi)).bytes.equals(seedBytes(99, 6 * MiB))).toBe(true);
  });

  it('a rewritten or retagged object is read with its headers; other metadata changes show with refresh_metadata', async () => {
    const first = await scan(source(), undefined, true);
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
    const byKey = (m: Map<EntryPath, PreviousEntry>, key: string) =>
      [...m.values()].find((p) => p.metadata['s3.key'] === key)!;
    // What the previous snapshot says of r/d1/o4 differs from the object only in a tag, as after
    // a tag change on a server that keeps LastModified.
    const o4 = byKey(first.complete, 'r/d1/o4');
    const previous = new Map(first.complete);
    previous.set(o4.path, { ...o4, metadata: { ...o4.metadata, 's3.tag.t': 'stale' } });

    const second = await scan(source(), contextOf(previous), true);
    expect(second.requests).toMatchObject({ head: 0, tagging: 1, get: 2 });
    const rewritten = byKey(second.complete, 'r/d1/o1');
    expect(rewritten.size).toBe(50);
    expect(rewritten.changeToken).not.toBe(byKey(first.complete, 'r/d1/o1').changeToken);
    expect(rewritten.metadata['s3.meta.n']).toBeUndefined();
    expect(byKey(second.complete, 'r/d0/o0').metadata['s3.tag.t']).toBe('changed');
    expect(byKey(second.complete, 'r/d1/o4').metadata['s3.tag.t']).toBe('stale');

    const refreshed = await scan(source({ refresh_metadata: true }), contextOf(previous));
    expect(refreshed.requests).toMatchObject({ head: N, tagging: 7, get: 0 });
    expect(byKey(refreshed.complete, 'r/d1/o4').metadata['s3.tag.t']).toBe('v4');
    expect(byKey(refreshed.complete, 'r/d0/o0').metadata['s3.tag.t']).toBe('changed');
  });

  it('refresh_metadata is an option of the connector, refused when malformed', async () => {
    const params = (value?: string) => {
      const p = s3TestParams(env, bucket, 'r', value !== undefined ? { refresh_metadata: value } : {});
      return { ...p, location: p.location.replace(env.host, proxy!.host) };
    };
    const first = await scan(await createS3Source(params()), undefined, true);
    const context = contextOf(first.complete);
    expect((await scan(await createS3Source(params('true')), context)).requests.head).toBe(N);
    expect((await scan(await createS3Source(params('false')), context)).requests.head).toBe(0);
    expect((await scan(await createS3Source(params()), context)).requests.head).toBe(0);
    await expect(createS3Source(params('maybe'))).rejects.toThrow(
      /option refresh_metadata: expected true or false/,
    );
  });
});
