/** The shared S3 layer against the RGW test server: errors, TLS options, timeouts, uploads. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { ConnectorError, type ErrorCode, Semaphore } from '@kloset/connector-contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createS3Connection,
  readBody,
  readS3Settings,
  S3_COMMON_OPTIONS,
  type S3Settings,
  STORAGE_CLASS_OPTION,
  s3Call,
  uploadObject,
  withRetry,
} from '../src/index.ts';
import { everyNth, s3TestBuckets, s3TestParams, startFaultProxy } from '../src/testing/index.ts';

const s3 = s3TestBuckets();
const { env, client: plain } = s3;
const OPTIONS = [...S3_COMMON_OPTIONS, STORAGE_CLASS_OPTION];
const MiB = 1024 * 1024;
let bucket = '';

beforeAll(async () => {
  bucket = await s3.create('common');
});
afterAll(async () => {
  await s3.dispose();
});

function settings(
  overrides: Record<string, string | boolean | number> = {},
  b = bucket,
  host = env.host,
): S3Settings {
  const p = s3TestParams(env, b, '', overrides);
  return readS3Settings({ ...p, location: p.location.replace(env.host, host) }, OPTIONS);
}

async function listError(s: S3Settings): Promise<ConnectorError> {
  const conn = createS3Connection(s);
  try {
    const ctx = { op: 'ListObjectsV2', bucket: s.location.bucket, endpoint: s.location.endpoint };
    const err = await s3Call(ctx, () =>
      conn.client.send(new ListObjectsV2Command({ Bucket: s.location.bucket })),
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err, 'the call should fail').toBeInstanceOf(ConnectorError);
    return err as ConnectorError;
  } finally {
    conn.destroy();
  }
}

function expectOneLine(err: ConnectorError, code: ErrorCode, ...parts: string[]): void {
  expect(err.code, err.message).toBe(code);
  expect(err.message).not.toMatch(/[\r\n]/);
  for (const p of parts) expect(err.message).toContain(p);
}

async function* bytesOf(data: Uint8Array, chunk = 100_000): AsyncIterable<Uint8Array> {
  for (let i = 0; i < data.length; i += chunk) yield data.subarray(i, i + chunk);
}

function pattern(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed * 2654435761;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

describe('errors from a real server', () => {
  it('a wrong secret key gives one auth line naming the operation and the bucket', async () => {
    const err = await listError(settings({ secret_access_key: 'wrong-secret' }));
    expectOneLine(err, 'auth', 'ListObjectsV2', `bucket "${bucket}"`, 'SignatureDoesNotMatch');
  });

  it('an unknown access key gives auth', async () => {
    const err = await listError(settings({ access_key: 'NOSUCHKEY0000000000', secret_access_key: 'x' }));
    expectOneLine(err, 'auth', 'InvalidAccessKeyId');
  });

  it('a missing bucket gives not_found naming the bucket', async () => {
    const err = await listError(settings({}, 'kloset-no-such-bucket-here'));
    expectOneLine(err, 'not_found', 'bucket "kloset-no-such-bucket-here" does not exist');
  });

  it('an unreachable endpoint gives unavailable naming the endpoint', async () => {
    const err = await listError(settings({}, bucket, '127.0.0.1:1'));
    expectOneLine(err, 'unavailable', 'cannot reach http://127.0.0.1:1', 'ECONNREFUSED');
  });

  it('an unknown host name gives unavailable', async () => {
    const err = await listError(settings({}, bucket, 'no-such-host.invalid:7480'));
    expectOneLine(err, 'unavailable', 'no-such-host.invalid');
  });

  it('a server that never answers times out as transient', async () => {
    const silent = createHttpServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as AddressInfo).port;
    try {
      const s = {
        ...settings({}, bucket, `127.0.0.1:${port}`),
        timeouts: { connectMs: 1000, requestMs: 500, idleMs: 1000 },
      };
      const started = Date.now();
      const err = await listError(s);
      expectOneLine(err, 'transient', 'ListObjectsV2');
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });
});

describe('TLS', () => {
  let dir = '';
  let proxy: ReturnType<typeof createHttpsServer> | undefined;
  let host = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kloset-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    const target = new URL(env.endpoint);
    // A TLS front for RGW with a self-signed certificate; requests are forwarded unchanged.
    proxy = createHttpsServer(
      { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
      (req, res) => {
        const up = httpRequest(
          {
            host: target.hostname,
            port: target.port,
            method: req.method,
            path: req.url,
            headers: req.headers,
          },
          (r) => {
            res.writeHead(r.statusCode ?? 502, r.headers);
            r.pipe(res);
          },
        );
        up.on('error', () => res.destroy());
        req.pipe(up);
      },
    );
    await new Promise<void>((r) => proxy?.listen(0, '127.0.0.1', r));
    host = `127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    proxy?.closeAllConnections();
    proxy?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a self-signed certificate by default, with a hint', async () => {
    const err = await listError(settings({ use_tls: true }, bucket, host));
    expectOneLine(err, 'invalid', 'TLS failure', 'tls_insecure_no_verify');
  });

  it('accepts it with tls_insecure_no_verify', async () => {
    const s = settings({ use_tls: true, tls_insecure_no_verify: true }, bucket, host);
    const conn = createS3Connection(s);
    try {
      const out = await conn.client.send(new ListObjectsV2Command({ Bucket: bucket }));
      expect(out.$metadata.httpStatusCode).toBe(200);
      // Object bodies come over the same TLS endpoint through the undici transport (transport.ts): whole, and twice.
      const data = pattern(3 * MiB + 7, 9);
      await plain.send(new PutObjectCommand({ Bucket: bucket, Key: 'tls/body', Body: data }));
      for (let i = 0; i < 2; i++) {
        const got = await conn.getObject({ key: 'tls/body' });
        expect(got.answer.ContentLength).toBe(data.length);
        expect(Buffer.compare(await readBody(got.body), data)).toBe(0);
      }
      const refused = createS3Connection(settings({ use_tls: true }, bucket, host));
      try {
        const err = await s3Call(
          { op: 'GetObject', bucket, key: 'tls/body', endpoint: `https://${host}` },
          () => refused.getObject({ key: 'tls/body' }),
        ).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ConnectorError);
        expectOneLine(err as ConnectorError, 'invalid', 'TLS failure', 'tls_insecure_no_verify');
      } finally {
        refused.destroy();
      }
    } finally {
      conn.destroy();
    }
  });
});

describe('uploadObject', () => {
  it('puts a small object in one request with headers, metadata and tags', async () => {
    const conn = createS3Connection(settings());
    try {
      const data = pattern(1000, 1);
      await uploadObject({
        connection: conn,
        endpoint: env.endpoint,
        bucket,
        key: 'small/one',
        size: data.length,
        body: bytesOf(data, 77),
        headers: {
          contentType: 'text/plain; charset=utf-8',
          cacheControl: 'max-age=60',
          contentDisposition: 'attachment',
          contentLanguage: 'fr',
          contentEncoding: 'identity',
          metadata: { color: 'blue' },
          tags: { team: 'a b', 'x/y': '=' },
          expires: new Date('2031-02-03T04:05:06Z'),
          websiteRedirectLocation: '/elsewhere',
        },
        multipartThreshold: 8 * MiB,
        partSize: 5 * MiB,
        partsInFlight: 2,
      });
      const head = await plain.send(new HeadObjectCommand({ Bucket: bucket, Key: 'small/one' }));
      expect(head.ContentLength).toBe(1000);
      expect(head.ContentType).toBe('text/plain; charset=utf-8');
      expect(head.CacheControl).toBe('max-age=60');
      expect(head.ContentDisposition).toBe('attachment');
      expect(head.ContentLanguage).toBe('fr');
      expect(head.Metadata).toEqual({ color: 'blue' });
      expect(head.ExpiresString).toBe('Mon, 03 Feb 2031 04:05:06 GMT');
      expect(head.WebsiteRedirectLocation).toBe('/elsewhere');
      const tags = await plain.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'small/one' }));
      expect(tags.TagSet).toEqual([
        { Key: 'team', Value: 'a b' },
        { Key: 'x/y', Value: '=' },
      ]);
    } finally {
      conn.destroy();
    }
  });

  it('signs bodies checked by Content-MD5 without hashing them; the server still checks them', async () => {
    // Through a proxy that shows what goes on the wire and, for the 'corrupt/' keys, alters the
    // first byte of the body on its way to the server.
    const proxy = await startFaultProxy(env.endpoint, (_n, method, path) =>
      method === 'PUT' && path.includes('/corrupt') ? 'flip-request-byte' : 'pass',
    );
    const conn = createS3Connection(settings({}, bucket, proxy.host));
    const put = (key: string, data: Uint8Array, threshold = 8 * MiB) =>
      uploadObject({
        connection: conn,
        endpoint: proxy.endpoint,
        bucket,
        key,
        size: data.length,
        body: bytesOf(data, 300 * 1024),
        multipartThreshold: threshold,
        partSize: 5 * MiB,
        partsInFlight: 2,
      });
    try {
      const data = pattern(1000, 3);
      await put('unsigned/ok', data);
      const got = await plain.send(new GetObjectCommand({ Bucket: bucket, Key: 'unsigned/ok' }));
      expect(Buffer.from(await got.Body!.transformToByteArray()).equals(Buffer.from(data))).toBe(true);
      await conn.client.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1 }));
      const wire = proxy.requests.map((r) => ({
        method: r.method,
        payloadHash: r.headers['x-amz-content-sha256'],
        md5: r.headers['content-md5'] !== undefined,
      }));
      expect(wire).toEqual([
        { method: 'PUT', payloadHash: 'UNSIGNED-PAYLOAD', md5: true },
        { method: 'GET', payloadHash: expect.stringMatching(/^[0-9a-f]{64}$/), md5: false },
      ]);
      await expect(put('unsigned/corrupt', data)).rejects.toThrow(/BadDigest|Content-MD5/);
      await expect(
        plain.send(new HeadObjectCommand({ Bucket: bucket, Key: 'unsigned/corrupt' })),
      ).rejects.toThrow();
      // The parts of a multipart upload likewise.
      const big = pattern(6 * MiB, 5);
      await put('unsigned/parts', big, 5 * MiB);
      const parts = proxy.requests.filter((r) => r.method === 'PUT' && r.path.includes('unsigned/parts?'));
      expect(parts.map((r) => [r.method, r.headers['x-amz-content-sha256']])).toEqual([
        ['PUT', 'UNSIGNED-PAYLOAD'],
        ['PUT', 'UNSIGNED-PAYLOAD'],
      ]);
      const gotBig = await plain.send(new GetObjectCommand({ Bucket: bucket, Key: 'unsigned/parts' }));
      expect(Buffer.compare(await gotBig.Body!.transformToByteArray(), big)).toBe(0);
      await expect(put('unsigned/corrupt-parts', big, 5 * MiB)).rejects.toThrow(/BadDigest|Content-MD5/);
      const uploads = await plain.send(
        new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'unsigned/corrupt-parts' }),
      );
      expect(uploads.Uploads ?? []).toEqual([]);
    } finally {
      conn.destroy();
      await proxy.close();
    }
  });

  it('uploads a large object in parts with bounded memory, through injected faults', async () => {
    const proxy = await startFaultProxy(env.endpoint, everyNth(3, ['slowdown', 'reset']));
    const conn = createS3Connection(settings({}, bucket, proxy.host));
    try {
      const data = pattern(23 * MiB + 5, 2);
      const memory = new Semaphore(12 * MiB);
      let low = memory.capacity;
      const watch = setInterval(() => (low = Math.min(low, memory.available)), 1);
      await uploadObject({
        connection: conn,
        endpoint: proxy.endpoint,
        bucket,
        key: 'big/one',
        size: data.length,
        body: bytesOf(data, 64 * 1024),
        headers: { contentType: 'application/x-big', tags: { k: 'v' } },
        multipartThreshold: 8 * MiB,
        partSize: 5 * MiB,
        partsInFlight: 4,
        memory,
        retry: { attempts: 6, baseDelayMs: 10, maxDelayMs: 100 },
      });
      clearInterval(watch);
      expect(low, 'part buffers are counted against the budget').toBeLessThan(memory.capacity);
      expect(proxy.counts.slowdown + proxy.counts.reset).toBeGreaterThan(0);
      const got = await plain.send(new GetObjectCommand({ Bucket: bucket, Key: 'big/one' }));
      const body = await got.Body!.transformToByteArray();
      expect(Buffer.compare(body, data)).toBe(0);
      expect(got.ContentType).toBe('application/x-big');
      expect(got.ETag).toMatch(/-5"$/);
    } finally {
      conn.destroy();
      await proxy.close();
    }
  });

  it('aborts the multipart upload when the body throws, and lets that error through', async () => {
    const conn = createS3Connection(settings());
    const boom = new Error('body failed');
    async function* failing(): AsyncIterable<Uint8Array> {
      yield pattern(6 * MiB, 3);
      throw boom;
    }
    try {
      const err = await uploadObject({
        connection: conn,
        endpoint: env.endpoint,
        bucket,
        key: 'big/failed',
        size: 20 * MiB,
        body: failing(),
        multipartThreshold: 8 * MiB,
        partSize: 5 * MiB,
        partsInFlight: 2,
      }).catch((e: unknown) => e);
      expect(err).toBe(boom);
      const uploads = await plain.send(
        new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'big/failed' }),
      );
      expect(uploads.Uploads ?? []).toEqual([]);
      const listed = await plain.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'big/failed' }));
      expect(listed.KeyCount).toBe(0);
    } finally {
      conn.destroy();
    }
  });

  it('refuses a body shorter or longer than its size with invalid, storing nothing', async () => {
    const conn = createS3Connection(settings());
    try {
      for (const [key, size, actual, threshold] of [
        ['short/single', 100, 99, MiB],
        ['long/single', 100, 101, MiB],
        ['short/multi', 12 * MiB, 12 * MiB - 1, 8 * MiB],
        ['long/multi', 12 * MiB, 12 * MiB + 1, 8 * MiB],
      ] as const) {
        const err = await uploadObject({
          connection: conn,
          endpoint: env.endpoint,
          bucket,
          key,
          size,
          body: bytesOf(pattern(actual, 4)),
          multipartThreshold: threshold,
          partSize: 5 * MiB,
          partsInFlight: 2,
        }).catch((e: unknown) => e);
        expect(err, key).toBeInstanceOf(ConnectorError);
        expect((err as ConnectorError).code, key).toBe('invalid');
        expect((err as ConnectorError).message).toContain(key);
        const listed = await plain.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key }));
        expect(listed.KeyCount, key).toBe(0);
      }
      const uploads = await plain.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
      expect(uploads.Uploads ?? []).toEqual([]);
    } finally {
      conn.destroy();
    }
  });

  it('withRetry over s3Call gets through 503s and resets', async () => {
    const proxy = await startFaultProxy(env.endpoint, everyNth(2, ['slowdown', 'reset']));
    const conn = createS3Connection(settings({}, bucket, proxy.host));
    try {
      for (let i = 0; i < 6; i++) {
        const out = await withRetry(
          () =>
            s3Call({ op: 'ListObjectsV2', bucket, endpoint: proxy.endpoint }, () =>
              conn.client.send(new ListObjectsV2Command({ Bucket: bucket })),
            ),
          { attempts: 4, baseDelayMs: 5, maxDelayMs: 20 },
        );
        expect(out.$metadata.httpStatusCode).toBe(200);
      }
      expect(proxy.counts.slowdown).toBeGreaterThan(0);
      expect(proxy.counts.reset).toBeGreaterThan(0);
    } finally {
      conn.destroy();
      await proxy.close();
    }
  });
});
