/**
 * HTTP_PROXY / NO_PROXY, as the AWS CLI honours them: both planes of a connection (the undici
 * transport and the SDK's control plane) go through the proxy, and neither does for a host that
 * NO_PROXY names. Against the RGW test server, through a small forwarding proxy (absolute-form
 * requests and CONNECT tunnels) that counts what it carried. And the data plane's addressing
 * (path-style, virtual_host), as a proxy that answers itself sees the requests.
 */
import { createHash } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { ConnectorError } from '@kloset/connector-contract';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createS3Connection, readBody, readS3Settings, S3_COMMON_OPTIONS, s3Call } from '../src/index.ts';
import { s3TestBuckets, s3TestParams } from '../src/testing/index.ts';

const s3 = s3TestBuckets();
let bucket = '';

/** What the proxy carried: `GET http://host/path` for forwarded requests, `CONNECT host:port`. */
const carried: string[] = [];
let proxy: Server;
let proxyUrl = '';

function startProxy(): Promise<Server> {
  const server = createServer((req, res) => {
    carried.push(`${req.method} ${req.url}`);
    const target = new URL(req.url ?? '');
    const out = request(
      { host: target.hostname, port: target.port, method: req.method, path: target.pathname + target.search },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined && name !== 'proxy-connection') out.setHeader(name, value);
    }
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  server.on('connect', (req, socket, head) => {
    carried.push(`CONNECT ${req.url}`);
    const [host, port] = (req.url ?? '').split(':');
    const upstream = connect(Number(port), host ?? '', () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

beforeAll(async () => {
  bucket = await s3.create('proxy');
  proxy = await startProxy();
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});
afterAll(async () => {
  proxy.closeAllConnections();
  await new Promise((resolve) => proxy.close(resolve));
  await s3.dispose();
});
beforeEach(() => {
  carried.length = 0;
});

const settings = () => readS3Settings(s3TestParams(s3.env, bucket, ''), S3_COMMON_OPTIONS);

/** A put, a get, a listing (transport) and a HEAD (SDK) on a connection with `env`. */
async function roundTrip(
  env: Record<string, string>,
  key: string,
): Promise<{ data: number; control: number }> {
  const conn = createS3Connection(settings(), { env });
  try {
    const body = Buffer.from(`through ${JSON.stringify(env)}`);
    await conn.putObject({
      key,
      body,
      md5: createHash('md5').update(body).digest('base64'),
    });
    const got = await conn.getObject({ key });
    expect(Buffer.from(await readBody(got.body))).toEqual(body);
    const page = await conn.listObjects({ prefix: key });
    expect(page.Contents.map((c) => c.Key)).toEqual([key]);
    const data = carried.length;
    const head = await conn.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    expect(head.ContentLength).toBe(body.length);
    return { data, control: carried.length - data };
  } finally {
    conn.destroy();
  }
}

describe('proxies from the environment', () => {
  it('HTTP_PROXY carries the data plane and the control plane', async () => {
    const { data, control } = await roundTrip({ HTTP_PROXY: proxyUrl }, 'via-proxy');
    expect(data, `carried: ${carried.join(', ')}`).toBeGreaterThan(0);
    expect(control, `carried: ${carried.join(', ')}`).toBeGreaterThan(0);
    expect(carried.every((c) => c.includes(s3.env.host))).toBe(true);
  });

  it('lower-case http_proxy too', async () => {
    const { data, control } = await roundTrip({ http_proxy: proxyUrl }, 'via-lower-case');
    expect(data).toBeGreaterThan(0);
    expect(control).toBeGreaterThan(0);
  });

  it('NO_PROXY naming the endpoint bypasses it on both planes', async () => {
    const host = s3.env.host.replace(/:\d+$/, '');
    const { data, control } = await roundTrip({ HTTP_PROXY: proxyUrl, NO_PROXY: host }, 'no-proxy');
    expect(data + control, `carried: ${carried.join(', ')}`).toBe(0);
  });

  it('without proxy variables nothing goes through it', async () => {
    const { data, control } = await roundTrip({}, 'direct');
    expect(data + control).toBe(0);
  });

  it('a proxy that is down fails the request in one line, naming the bucket', async () => {
    const conn = createS3Connection(settings(), { env: { HTTP_PROXY: 'http://127.0.0.1:9' } });
    try {
      const s = settings();
      const err = await s3Call({ op: 'ListObjectsV2', bucket, endpoint: s.location.endpoint }, () =>
        conn.listObjects({ prefix: '' }),
      ).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConnectorError);
      expect((err as ConnectorError).message).toMatch(
        new RegExp(`^S3 ListObjectsV2 on bucket "${bucket}": `),
      );
      expect((err as ConnectorError).message).toContain('connecting to 127.0.0.1:9)');
      expect((err as ConnectorError).message).not.toMatch(/[\r\n]/);
    } finally {
      conn.destroy();
    }
  });
});

describe('addressing on the data plane, seen by a proxy that answers itself', () => {
  /** Every request as the proxy got it (absolute form), answered 200 with an empty body. */
  async function seenThrough(options: Record<string, string>): Promise<string[]> {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      req.resume();
      req.on('end', () =>
        res.writeHead(200, { etag: '"d41d8cd98f00b204e9800998ecf8427e"', 'content-length': '0' }).end(),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const params = {
      location: 's3://s3.example.test:9000/bkt',
      options: {
        access_key: 'AKID',
        secret_access_key: 'secret',
        region: 'us-east-1',
        use_tls: 'false',
        ...options,
      },
    };
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const conn = createS3Connection(readS3Settings(params, S3_COMMON_OPTIONS), { env: { HTTP_PROXY: url } });
    try {
      const body = Buffer.alloc(0);
      await conn.putObject({ key: 'a b/c', body, md5: createHash('md5').update(body).digest('base64') });
      const got = await conn.getObject({ key: 'a b/c' });
      await readBody(got.body);
      return seen;
    } finally {
      conn.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  }

  it('path-style by default: the bucket in the path', async () => {
    expect(await seenThrough({})).toEqual([
      'PUT http://s3.example.test:9000/bkt/a%20b/c',
      'GET http://s3.example.test:9000/bkt/a%20b/c',
    ]);
  });

  it('virtual_host=true: the bucket in the host name', async () => {
    expect(await seenThrough({ virtual_host: 'true' })).toEqual([
      'PUT http://bkt.s3.example.test:9000/a%20b/c',
      'GET http://bkt.s3.example.test:9000/a%20b/c',
    ]);
  });
});
