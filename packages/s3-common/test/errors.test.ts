import { NoSuchBucket, NoSuchKey, S3ServiceException } from '@aws-sdk/client-s3';
import { ConnectorError, type ErrorCode } from '@kloset/connector-contract';
import { errors as undici } from 'undici';
import { describe, expect, it } from 'vitest';
import { s3Call, s3ErrorCode, toConnectorError } from '../src/index.ts';

const ctx = { op: 'GetObject', bucket: 'bkt', key: 'a/b\nc', endpoint: 'http://127.0.0.1:7480' };

function service(name: string, status: number, message = `${name} happened`): S3ServiceException {
  return new S3ServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
    message,
  });
}

function sys(code: string, message = `connect ${code}`): Error {
  return Object.assign(new Error(message), { code });
}

describe('toConnectorError', () => {
  const cases: [string, unknown, ErrorCode, string][] = [
    [
      'wrong key id',
      service('InvalidAccessKeyId', 403),
      'auth',
      'credentials refused (InvalidAccessKeyId, HTTP 403)',
    ],
    ['wrong secret', service('SignatureDoesNotMatch', 403), 'auth', 'check access_key and secret_access_key'],
    ['expired token', service('ExpiredToken', 400), 'auth', 'ExpiredToken'],
    [
      'no credentials',
      Object.assign(new Error('Could not load credentials'), { name: 'CredentialsProviderError' }),
      'auth',
      'no credentials',
    ],
    ['access denied', service('AccessDenied', 403), 'permission', 'access denied (AccessDenied, HTTP 403)'],
    ['HEAD 403', service('Forbidden', 403), 'permission', 'HTTP 403'],
    [
      'missing bucket',
      new NoSuchBucket({ $metadata: { httpStatusCode: 404 }, message: 'x' }),
      'not_found',
      'bucket "bkt" does not exist',
    ],
    [
      'missing key',
      new NoSuchKey({ $metadata: { httpStatusCode: 404 }, message: 'x' }),
      'not_found',
      'not found (NoSuchKey, HTTP 404)',
    ],
    ['HEAD 404', service('NotFound', 404), 'not_found', 'NotFound'],
    ['bare 404', service('UnknownError', 404), 'not_found', 'HTTP 404'],
    ['precondition', service('PreconditionFailed', 412), 'already_exists', 'precondition failed'],
    ['bucket exists', service('BucketAlreadyExists', 409), 'already_exists', 'already exists'],
    ['500', service('InternalError', 500), 'transient', 'InternalError, HTTP 500'],
    ['503 SlowDown', service('SlowDown', 503), 'transient', 'SlowDown'],
    ['unknown 502', service('BadGateway', 502), 'transient', 'HTTP 502'],
    ['throttling', service('Throttling', 400), 'transient', 'Throttling'],
    ['429', service('Whatever', 429), 'transient', 'HTTP 429'],
    ['request timeout', service('RequestTimeout', 400), 'transient', 'RequestTimeout'],
    ['connection reset', sys('ECONNRESET', 'socket hang up'), 'transient', 'connection failed (ECONNRESET)'],
    ['broken pipe', sys('EPIPE'), 'transient', 'EPIPE'],
    [
      'sdk timeout',
      Object.assign(new Error('timed out'), { name: 'TimeoutError' }),
      'transient',
      'TimeoutError',
    ],
    ['socket timeout', sys('ETIMEDOUT'), 'transient', 'ETIMEDOUT'],
    ['refused', sys('ECONNREFUSED'), 'unavailable', 'cannot reach http://127.0.0.1:7480 (ECONNREFUSED)'],
    [
      'refused by the endpoint itself',
      Object.assign(sys('ECONNREFUSED'), { address: '127.0.0.1', port: 7480 }),
      'unavailable',
      'cannot reach http://127.0.0.1:7480 (ECONNREFUSED)',
    ],
    [
      'refused by a proxy',
      Object.assign(sys('ECONNREFUSED'), { address: '10.0.0.1', port: 3128 }),
      'unavailable',
      'cannot reach http://127.0.0.1:7480 (ECONNREFUSED connecting to 10.0.0.1:3128)',
    ],
    [
      'a proxy name that does not resolve',
      Object.assign(sys('ENOTFOUND'), { hostname: 'proxy.invalid' }),
      'unavailable',
      'cannot reach http://127.0.0.1:7480 (ENOTFOUND connecting to proxy.invalid)',
    ],
    ['dns', sys('ENOTFOUND', 'getaddrinfo ENOTFOUND nowhere'), 'unavailable', 'ENOTFOUND'],
    [
      'happy eyeballs',
      Object.assign(new AggregateError([sys('ECONNREFUSED'), sys('ECONNREFUSED')], 'all failed'), {}),
      'unavailable',
      'ECONNREFUSED',
    ],
    ['wrapped cause', new Error('outer', { cause: sys('EHOSTUNREACH') }), 'unavailable', 'EHOSTUNREACH'],
    [
      'self-signed',
      sys('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'),
      'invalid',
      'tls_insecure_no_verify',
    ],
    ['bad digest', service('BadDigest', 400), 'corrupt', 'BadDigest'],
    ['bad range', service('InvalidRange', 416), 'invalid', 'range not satisfiable'],
    ['archived object', service('InvalidObjectState', 403), 'invalid', 'archived'],
    ['key too long', service('KeyTooLongError', 400), 'invalid', 'too long'],
    ['other 400', service('InvalidArgument', 400, 'bad thing\nmore'), 'invalid', 'bad thing more'],
    ['wrong region', service('AuthorizationHeaderMalformed', 400), 'invalid', 'region'],
    [
      'undici: no headers in time',
      new undici.HeadersTimeoutError(),
      'transient',
      'no answer within the request timeout (UND_ERR_HEADERS_TIMEOUT)',
    ],
    ['undici: body stalled', new undici.BodyTimeoutError(), 'transient', 'stalled'],
    ['undici: connect timeout', new undici.ConnectTimeoutError(), 'transient', 'connect timed out'],
    ['undici: cut answer', new undici.SocketError('other side closed'), 'transient', 'mid-answer'],
    [
      'undici: body longer or shorter than Content-Length',
      new undici.ResponseContentLengthMismatchError(),
      'transient',
      'malformed answer: body length differs',
    ],
    ['undici: huge headers', new undici.HeadersOverflowError(), 'transient', 'headers too large'],
    [
      'llhttp: framing error',
      Object.assign(new Error('Response does not match the HTTP/1.1 protocol (Invalid header value char)'), {
        code: 'HPE_INVALID_HEADER_TOKEN',
      }),
      'transient',
      'malformed HTTP answer (HPE_INVALID_HEADER_TOKEN)',
    ],
  ];

  it.each(cases)('%s', (_what, err, code, text) => {
    const e = toConnectorError(err, ctx);
    expect(e).toBeInstanceOf(ConnectorError);
    expect(e.code).toBe(code);
    expect(e.message).toContain(text);
    expect(e.message.startsWith('S3 GetObject on bucket "bkt" key "a/b\\nc": ')).toBe(true);
    expect(e.message).not.toMatch(/[\r\n]/);
    expect(e.context).toEqual({ op: 'GetObject', container: 'bkt', key: 'a/b\nc', endpoint: ctx.endpoint });
    expect(e.cause).toBe(err);
  });

  it('marks transient, unavailable and corrupt as retryable, the rest as final', () => {
    expect(toConnectorError(service('SlowDown', 503), ctx).retryable).toBe(true);
    expect(toConnectorError(sys('ECONNREFUSED'), ctx).retryable).toBe(true);
    expect(toConnectorError(service('SignatureDoesNotMatch', 403), ctx).retryable).toBe(false);
    expect(toConnectorError(service('AccessDenied', 403), ctx).retryable).toBe(false);
  });

  it('returns ConnectorErrors as they are and truncates huge keys in messages', () => {
    const ce = new ConnectorError('invalid', 'x');
    expect(toConnectorError(ce, ctx)).toBe(ce);
    const long = toConnectorError(service('AccessDenied', 403), { ...ctx, key: 'k'.repeat(1024) });
    expect(long.message.length).toBeLessThan(400);
    expect(long.context.key).toHaveLength(1024);
  });

  it('names the bucket alone when there is no key', () => {
    const e = toConnectorError(service('AccessDenied', 403), {
      op: 'ListObjectsV2',
      bucket: 'b',
      endpoint: 'x',
    });
    expect(e.message).toBe('S3 ListObjectsV2 on bucket "b": access denied (AccessDenied, HTTP 403)');
  });

  it('s3Call maps failures, s3ErrorCode reads the S3 code back', async () => {
    const err = await s3Call(ctx, () => Promise.reject(service('InvalidRange', 416))).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConnectorError);
    expect(s3ErrorCode(err)).toBe('InvalidRange');
    expect(s3ErrorCode(sys('ECONNRESET'))).toBeUndefined();
  });

  it('s3Call throws the abort reason when the signal fired', async () => {
    const ac = new AbortController();
    const reason = new Error('stop');
    ac.abort(reason);
    const err = await s3Call(ctx, () => Promise.reject(sys('ECONNRESET')), ac.signal).catch(
      (e: unknown) => e,
    );
    expect(err).toBe(reason);
  });
});
