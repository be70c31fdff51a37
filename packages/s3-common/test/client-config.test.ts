/** How createS3Connection configures requests: addressing, checksums, credentials. */
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { ConnectorError } from '@kloset/connector-contract';
import { afterEach, describe, expect, it } from 'vitest';
import { createS3Connection, readS3Settings, S3_COMMON_OPTIONS, s3Call } from '../src/index.ts';
import { readS3TestEnv, requireS3, s3TestParams } from '../src/testing/index.ts';

interface Seen {
  hostname: string;
  path: string;
  headers: Record<string, string>;
}

/** Sends `command` with a client for `location`/`options` and captures the request instead of sending it. */
async function capture(
  location: string,
  options: Record<string, string>,
  command: PutObjectCommand | ListObjectsV2Command,
): Promise<Seen> {
  const conn = createS3Connection(
    readS3Settings(
      { location, options: { access_key: 'AK', secret_access_key: 'SK', ...options } },
      S3_COMMON_OPTIONS,
    ),
  );
  let seen: Seen | undefined;
  conn.client.middlewareStack.add(
    () => async (args) => {
      const req = args.request as { hostname: string; path: string; headers: Record<string, string> };
      seen = { hostname: req.hostname, path: req.path, headers: { ...req.headers } };
      throw new Error('captured');
    },
    { step: 'finalizeRequest', priority: 'low' },
  );
  try {
    await conn.client.send(command as PutObjectCommand).catch(() => {});
  } finally {
    conn.destroy();
  }
  if (!seen) throw new Error('no request captured');
  return seen;
}

describe('request shape', () => {
  it('path-style by default, the bucket in the host name with virtual_host', async () => {
    const put = () => new PutObjectCommand({ Bucket: 'bkt', Key: 'a b/c', Body: new Uint8Array(3) });
    const path = await capture('s3://s3.example.com:9000/bkt', {}, put());
    expect(path.hostname).toBe('s3.example.com');
    expect(path.path).toBe('/bkt/a%20b/c');
    const virtual = await capture('s3://s3.example.com:9000/bkt', { virtual_host: 'true' }, put());
    expect(virtual.hostname).toBe('bkt.s3.example.com');
    expect(virtual.path).toBe('/a%20b/c');
  });

  it('no flexible checksums off AWS; the SDK default on AWS', async () => {
    const put = () => new PutObjectCommand({ Bucket: 'bkt', Key: 'k', Body: new Uint8Array(3) });
    const other = await capture('s3://127.0.0.1:7480/bkt', { use_tls: 'false' }, put());
    expect(
      Object.keys(other.headers).filter(
        (h) => h.startsWith('x-amz-checksum') || h === 'x-amz-sdk-checksum-algorithm',
      ),
    ).toEqual([]);
    const aws = await capture('s3://s3.eu-west-3.amazonaws.com/bkt', {}, put());
    expect(Object.keys(aws.headers).some((h) => h.startsWith('x-amz-checksum'))).toBe(true);
    expect(aws.headers.authorization).toContain('/eu-west-3/s3/aws4_request');
  });
});

describe('credentials', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_EC2_METADATA_DISABLED']) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  it('without keys, the standard AWS chain applies (here: the environment)', async () => {
    const env = readS3TestEnv();
    await requireS3(env);
    process.env.AWS_ACCESS_KEY_ID = env.accessKey;
    process.env.AWS_SECRET_ACCESS_KEY = env.secretKey;
    const p = s3TestParams(env, 'kloset-chain-check');
    const { access_key: _a, secret_access_key: _s, ...rest } = p.options;
    const conn = createS3Connection(
      readS3Settings({ location: p.location, options: rest }, S3_COMMON_OPTIONS),
    );
    try {
      const ctx = { op: 'ListObjectsV2', bucket: 'kloset-chain-check', endpoint: env.endpoint };
      const err = await s3Call(ctx, () =>
        conn.client.send(new ListObjectsV2Command({ Bucket: 'kloset-chain-check' })),
      ).catch((e: unknown) => e);
      // Signed with the chain's keys: the server knows them and answers about the bucket.
      expect(err).toBeInstanceOf(ConnectorError);
      expect((err as ConnectorError).code).toBe('not_found');
    } finally {
      conn.destroy();
    }
  });

  it('without keys and without any credential source: one auth line', async () => {
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    const conn = createS3Connection(
      readS3Settings({ location: 's3://127.0.0.1:1/bkt', options: { use_tls: 'false' } }, S3_COMMON_OPTIONS),
    );
    try {
      const ctx = { op: 'ListObjectsV2', bucket: 'bkt', endpoint: 'http://127.0.0.1:1' };
      const err = await s3Call(ctx, () =>
        conn.client.send(new ListObjectsV2Command({ Bucket: 'bkt' })),
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConnectorError);
      expect((err as ConnectorError).code).toBe('auth');
      expect((err as ConnectorError).message).toContain('no credentials');
      expect((err as ConnectorError).message).not.toMatch(/\n/);
    } finally {
      conn.destroy();
    }
  }, 30_000);
});
