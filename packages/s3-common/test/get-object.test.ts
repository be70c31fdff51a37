/** The GetObject of the undici transport (S3Connection.getObject) against the RGW test server, next to the SDK's. */
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ConnectorError } from '@kloset/connector-contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createS3Connection,
  type GetObjectRequest,
  objectMetadata,
  readBody,
  readS3Settings,
  S3_COMMON_OPTIONS,
  type S3Connection,
  s3Call,
  s3ErrorCode,
} from '../src/index.ts';
import { s3TestBuckets, s3TestParams } from '../src/testing/index.ts';

const s3 = s3TestBuckets();
const { env, client: plain } = s3;
let bucket = '';
let conn: S3Connection;

const KEYS = [
  'plain.txt',
  'a b/c',
  '/lead',
  'x//y/./../z',
  'ünï/çødé',
  'ctl\u0001\u007f',
  'q?#%2F+&=',
  'k'.repeat(1024),
];

beforeAll(async () => {
  bucket = await s3.create('getobj');
  conn = createS3Connection(readS3Settings(s3TestParams(env, bucket, ''), S3_COMMON_OPTIONS));
  for (const [i, key] of KEYS.entries()) {
    await plain.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: Buffer.from(`body of ${i} `.repeat(100 * i + 1)),
        ContentType: 'text/x-test',
        CacheControl: 'max-age=60',
        Expires: new Date('2030-01-01T00:00:00Z'),
        Metadata: { owner: `o${i}`, mixed: 'Value With Spaces' },
        Tagging: i % 2 === 0 ? 'a=1&b=2' : undefined,
      }),
    );
  }
});
afterAll(async () => {
  conn?.destroy();
  await s3.dispose();
});

function get(c: S3Connection, req: GetObjectRequest): ReturnType<S3Connection['getObject']> {
  return s3Call({ op: 'GetObject', bucket, key: req.key, endpoint: env.endpoint }, () => c.getObject(req));
}

async function failure(c: S3Connection, req: GetObjectRequest): Promise<ConnectorError> {
  const err = await get(c, req).then(
    (r) => {
      r.body.destroy();
      return undefined;
    },
    (e: unknown) => e,
  );
  if (!(err instanceof ConnectorError)) throw new Error(`expected a ConnectorError, got ${String(err)}`);
  return err;
}

describe('S3Connection.getObject', () => {
  it('reads every key byte for byte, with the headers the SDK gives', async () => {
    for (const key of KEYS) {
      const sdk = await plain.send(
        new GetObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }),
      );
      const expected = await readBody(sdk.Body);
      const { answer, body } = await get(conn, { key, checksums: true, ifMatch: sdk.ETag! });
      expect(Buffer.from(await readBody(body)).equals(Buffer.from(expected))).toBe(true);
      expect(objectMetadata(key, answer, [])).toEqual(objectMetadata(key, sdk, []));
      expect(answer.TagCount).toBe(sdk.TagCount);
      expect(answer.ContentLength).toBe(expected.length);
      expect(answer.LastModified?.getTime()).toBe(sdk.LastModified?.getTime());
    }
  });

  it('reads from an offset to the end', async () => {
    const key = KEYS[3]!;
    const whole = await readBody((await get(conn, { key })).body);
    const { answer, body } = await get(conn, { key, offset: 10 });
    expect(Buffer.from(await readBody(body)).equals(Buffer.from(whole.subarray(10)))).toBe(true);
    expect(answer.ContentRange).toBe(`bytes 10-${whole.length - 1}/${whole.length}`);
  });

  it('maps S3 errors as the SDK path does: one line, the code and the status', async () => {
    const missing = await failure(conn, { key: 'no/such key' });
    expect(missing.code).toBe('not_found');
    expect(missing.message).toBe(
      `S3 GetObject on bucket "${bucket}" key "no/such key": not found (NoSuchKey, HTTP 404)`,
    );
    const changed = await failure(conn, { key: KEYS[0]!, ifMatch: '"00000000000000000000000000000000"' });
    expect(s3ErrorCode(changed)).toBe('PreconditionFailed');
    const wrong = createS3Connection(
      readS3Settings(s3TestParams(env, bucket, '', { secret_access_key: 'wrong-secret' }), S3_COMMON_OPTIONS),
    );
    try {
      const auth = await failure(wrong, { key: KEYS[0]! });
      expect(auth.code).toBe('auth');
      expect(auth.message).toMatch(
        /^S3 GetObject on bucket "[^"]+" key "plain.txt": credentials refused \(SignatureDoesNotMatch, HTTP 403\)/,
      );
    } finally {
      wrong.destroy();
    }
  });

  it('an unreachable endpoint is `unavailable`', async () => {
    const p = s3TestParams(env, bucket, '');
    const down = createS3Connection(
      readS3Settings({ ...p, location: p.location.replace(env.host, '127.0.0.1:9') }, S3_COMMON_OPTIONS),
    );
    try {
      expect((await failure(down, { key: 'k' })).code).toBe('unavailable');
    } finally {
      down.destroy();
    }
  });
});
