/** S3Source against the RGW test server. */
import { createHash } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import {
  ConnectorError,
  type EntryMetadata,
  isValidPath,
  type SourceRecord,
} from '@kloset/connector-contract';
import { decodeName, readS3Settings } from '@kloset/s3-common';
import {
  everyNth,
  s3TestBuckets,
  s3TestParams,
  seedBytes,
  seedObjects,
  startFaultProxy,
  trickyObjects,
  uniqueBucketName,
} from '@kloset/s3-common/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Source, S3_SOURCE_OPTIONS, S3Source, s3SourceConnector } from '../src/index.ts';

const s3 = s3TestBuckets();
const { env, client: plain } = s3;
// 8 attempts: with every third request failing, 4 in a row can land on faults now and then.
const FAST = { attempts: 8, baseDelayMs: 5, maxDelayMs: 50 };
const MiB = 1024 * 1024;
let bucket = '';

beforeAll(async () => {
  bucket = await s3.create('source');
});
afterAll(async () => {
  await s3.dispose();
});

function source(
  prefix: string,
  options: Record<string, string | number | boolean> = {},
  host = env.host,
): S3Source {
  const p = s3TestParams(env, bucket, prefix, options);
  const settings = readS3Settings({ ...p, location: p.location.replace(env.host, host) }, S3_SOURCE_OPTIONS);
  return new S3Source({ settings, retry: FAST });
}

async function scanAll(s: S3Source): Promise<SourceRecord[]> {
  const out: SourceRecord[] = [];
  for await (const r of s.scan()) out.push(r);
  return out;
}

async function readAll(r: SourceRecord): Promise<Uint8Array> {
  return (await openAll(r)).bytes;
}

/** The body of `r` and its complete metadata (the opened content's, for `metadataOnOpen`). */
async function openAll(r: SourceRecord): Promise<{ bytes: Buffer; metadata: EntryMetadata }> {
  const parts: Uint8Array[] = [];
  const content = await r.open();
  for await (const c of content) parts.push(c);
  return { bytes: Buffer.concat(parts), metadata: content.metadata ?? r.metadata };
}

async function failure(p: Promise<unknown>): Promise<ConnectorError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the call should fail').toBeInstanceOf(ConnectorError);
  return err as ConnectorError;
}

describe('S3 source on RGW', () => {
  it('the manifest part declares the s3 protocol and the common options', () => {
    expect(s3SourceConnector.role).toBe('source');
    expect(s3SourceConnector.protocols).toEqual(['s3']);
    expect(s3SourceConnector.options.map((o) => o.name)).not.toContain('storage_class');
  });

  it('yields one record per object with its exact key, headers, metadata and tags, and the folders', async () => {
    const prefix = 'tricky/';
    const objects = trickyObjects(1024 - prefix.length);
    await seedObjects(plain, bucket, prefix, objects);
    const s = source('tricky');
    try {
      expect(s.info).toEqual({ protocol: 's3', origin: `${env.host}/${bucket}`, root: '/tricky/' });
      const records = await scanAll(s);
      const paths = records.map((r) => r.path);
      expect(new Set(paths).size, 'paths are unique').toBe(paths.length);
      for (const p of paths) expect(isValidPath(p), JSON.stringify(p)).toBe(true);
      const byKey = new Map(records.filter((r) => r.type === 'file').map((r) => [r.metadata['s3.key'], r]));
      expect(byKey.size).toBe(objects.length);
      for (const o of objects) {
        const r = byKey.get(`${prefix}${o.key}`);
        expect(r, `record of ${JSON.stringify(o.key)}`).toBeDefined();
        if (!r) continue;
        expect(r.error).toBeUndefined();
        expect(r.size).toBe(o.body.length);
        const names = r.path
          .slice(1)
          .split('/')
          .map((n) => decodeName(n)?.segment);
        expect(names.join('/'), `path ${JSON.stringify(r.path)} names the key`).toBe(o.key);
        expect(r.changeToken).toBe(createHash('md5').update(o.body).digest('hex'));
        expect(r.metadata['s3.etag']).toBe(r.changeToken);
        // A first scan asks no HeadObject: the headers come with the GetObject that reads the body.
        expect(r.metadataOnOpen).toBe(true);
        const { bytes, metadata } = await openAll(r);
        expect(Buffer.compare(bytes, o.body), `body of ${JSON.stringify(o.key)}`).toBe(0);
        expect(metadata).toMatchObject(r.metadata);
        if (o.metadata) {
          expect(metadata).toMatchObject({
            's3.content-type': o.contentType,
            's3.content-encoding': o.contentEncoding,
            's3.content-disposition': o.contentDisposition,
            's3.content-language': o.contentLanguage,
            's3.cache-control': o.cacheControl,
            's3.expires': o.expires?.toUTCString(),
            's3.website-redirect-location': o.websiteRedirectLocation,
            's3.meta.color': 'blue',
            's3.meta.with-dash': o.metadata['with-dash'],
          });
          for (const [k, v] of Object.entries(o.tags ?? {})) expect(metadata[`s3.tag.${k}`]).toBe(v);
        } else {
          expect(
            Object.keys(metadata).filter((k) => k.startsWith('s3.tag.') || k.startsWith('s3.meta.')),
          ).toEqual([]);
        }
      }
      const dirs = records.filter((r) => r.type === 'directory');
      const root = dirs.find((d) => d.path === '/');
      expect(root?.metadata['s3.prefix']).toBe('tricky/');
      expect(dirs.find((d) => d.path === '/a')?.metadata['s3.prefix']).toBe('tricky/a/');
      expect(dirs.find((d) => d.path === '/%/%')?.metadata['s3.prefix']).toBe('tricky///');
      expect(byKey.get('tricky/a')?.path).toBe('/%a%');
      expect(byKey.get('tricky/dir/')?.path).toBe('/dir/%');
      expect(byKey.get('tricky//')?.path).toBe('/%/%%');
      expect(byKey.get('tricky/p/../q')?.path).toBe('/p/%../q');
      for (const d of dirs) expect(d.mtime.sec).toBeGreaterThan(1_600_000_000);
    } finally {
      await s.close();
    }
  });

  it('checks the MD5 of plain-ETag bodies while streaming; multipart ETags skip it', async () => {
    await seedObjects(plain, bucket, 'md5/', [
      { key: 'plain', body: seedBytes(1, 300_000) },
      { key: 'multi', body: seedBytes(2, 6 * MiB), multipartPartSize: 5 * MiB },
    ]);
    const proxy = await startFaultProxy(env.endpoint, (_n, method) =>
      method === 'GET' ? 'flip-byte' : 'pass',
    );
    const good = source('md5');
    const flipped = source('md5', {}, proxy.host);
    try {
      const records = (await scanAll(good)).filter((r) => r.type === 'file');
      const multi = records.find((r) => r.metadata['s3.key'] === 'md5/multi');
      expect(multi?.changeToken).toMatch(/-2$/);
      expect(Buffer.compare(await readAll(multi!), seedBytes(2, 6 * MiB))).toBe(0);
      const bad = (await scanAll(flipped)).find((r) => r.metadata['s3.key'] === 'md5/plain');
      const err = await failure(readAll(bad!));
      expect(err.code).toBe('corrupt');
      expect(err.message).toMatch(
        /^S3 GetObject on bucket "[^"]+" key "md5\/plain": MD5 of the body [0-9a-f]+ does not match its ETag/,
      );
    } finally {
      await good.close();
      await flipped.close();
      await proxy.close();
    }
  });

  it('resumes a body cut midway with a ranged request, through 503s and resets', async () => {
    const body = seedBytes(3, 3 * MiB + 7);
    await seedObjects(plain, bucket, 'resume/', [
      { key: 'big', body },
      ...Array.from({ length: 30 }, (_, i) => ({ key: `s/${i}`, body: seedBytes(i, 100) })),
    ]);
    const faults = everyNth(3, ['cut-body', 'slowdown', 'reset']);
    const proxy = await startFaultProxy(env.endpoint, faults);
    const s = source('resume', { concurrency: 4 }, proxy.host);
    try {
      const records = (await scanAll(s)).filter((r) => r.type === 'file');
      expect(records.length).toBe(31);
      for (const r of records) expect(r.error, r.path).toBeUndefined();
      for (const r of records) {
        const key = r.metadata['s3.key'];
        const want = key === 'resume/big' ? body : seedBytes(Number(key?.slice('resume/s/'.length)), 100);
        expect(Buffer.compare(await readAll(r), want), `body of ${key}`).toBe(0);
      }
      const big = records.find((r) => r.metadata['s3.key'] === 'resume/big')!;
      for (let i = 0; i < 2; i++) expect(Buffer.compare(await readAll(big), body)).toBe(0);
      expect(proxy.counts['cut-body']).toBeGreaterThan(0);
      expect(proxy.counts.reset).toBeGreaterThan(0);
    } finally {
      await s.close();
      await proxy.close();
    }
  });

  it('reports an object changed after the scan when it is opened', async () => {
    await seedObjects(plain, bucket, 'changing/', [{ key: 'f', body: seedBytes(4, 1000) }]);
    const s = source('changing');
    try {
      const r = (await scanAll(s)).find((x) => x.type === 'file')!;
      await plain.send(new PutObjectCommand({ Bucket: bucket, Key: 'changing/f', Body: seedBytes(5, 1000) }));
      const err = await failure(readAll(r));
      expect(err.code).toBe('not_found');
      expect(err.message).toContain('changed since it was listed');
    } finally {
      await s.close();
    }
  });

  it('streams many objects across listing pages, asking no HeadObject', async () => {
    const n = 1200;
    await seedObjects(
      plain,
      bucket,
      'many/',
      Array.from({ length: n }, (_, i) => ({
        key: `d${i % 7}/o${String(i).padStart(5, '0')}`,
        body: seedBytes(i, i % 50),
      })),
      32,
    );
    const methods: string[] = [];
    const proxy = await startFaultProxy(env.endpoint, (_n, method) => {
      methods.push(method);
      return 'pass';
    });
    const s = source('many', { concurrency: 8 }, proxy.host);
    try {
      expect(s.concurrency, 'the engine reads `concurrency` objects at once').toBe(8);
      let files = 0;
      let dirs = 0;
      for await (const r of s.scan()) {
        if (r.type === 'file') files++;
        else dirs++;
      }
      expect(files).toBe(n);
      expect(dirs).toBe(8);
      expect(methods, 'two listing pages, nothing else').toEqual(['GET', 'GET']);
    } finally {
      await s.close();
      await proxy.close();
    }
  });

  it('an empty prefix yields the root alone; scan stops when aborted', async () => {
    const s = source('nothing-here');
    try {
      const records = await scanAll(s);
      expect(records.map((r) => [r.path, r.type])).toEqual([['/', 'directory']]);
      const ac = new AbortController();
      const reason = new Error('stop now');
      ac.abort(reason);
      const err = await (async () => {
        for await (const _ of s.scan(ac.signal)) {
          // nothing
        }
      })().catch((e: unknown) => e);
      expect(err).toBe(reason);
    } finally {
      await s.close();
    }
  });

  it('a wrong secret, a missing bucket and an unreachable endpoint each give one clear line', async () => {
    const cases: [S3Source, string, RegExp][] = [
      [
        source('', { secret_access_key: 'wrong' }),
        'auth',
        /^S3 ListObjectsV2 on bucket "[^"]+": credentials refused \(SignatureDoesNotMatch, HTTP 403\)/,
      ],
      [source('', {}, '127.0.0.1:1'), 'unavailable', /cannot reach http:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\)/],
    ];
    const missing = uniqueBucketName('nope');
    const p = s3TestParams(env, missing);
    cases.push([
      new S3Source({ settings: readS3Settings(p, S3_SOURCE_OPTIONS), retry: FAST }),
      'not_found',
      new RegExp(`bucket "${missing}" does not exist`),
    ]);
    for (const [s, code, text] of cases) {
      try {
        const err = await failure(scanAll(s));
        expect(err.code).toBe(code);
        expect(err.message).toMatch(text);
        expect(err.message).not.toMatch(/\n/);
      } finally {
        await s.close();
      }
    }
    await expect(createS3Source(s3TestParams(env, bucket, '', { colour: 'red' }))).rejects.toThrow(
      /"colour"/,
    );
  });
});
