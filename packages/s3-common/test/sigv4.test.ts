/** SigV4 of GetObject requests, checked against AWS's published example. */
import { describe, expect, it } from 'vitest';
import { amzDate, canonicalQuery, encodeKeyPath, SigV4Signer } from '../src/index.ts';

// "Example: GET Object" of the S3 SigV4 documentation (sig-v4-header-based-auth).
const EXAMPLE_CREDS = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

describe('SigV4Signer', () => {
  it('signs the AWS documentation GET Object example', () => {
    const headers: Record<string, string> = { host: 'examplebucket.s3.amazonaws.com', range: 'bytes=0-9' };
    const now = Date.UTC(2013, 4, 24);
    new SigV4Signer().sign(
      { method: 'GET', path: '/test.txt', headers, payloadHash: EMPTY_SHA256 },
      EXAMPLE_CREDS,
      'us-east-1',
      now,
    );
    expect(headers['x-amz-date']).toBe('20130524T000000Z');
    expect(headers.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, ' +
        'SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, ' +
        'Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    );
  });

  it('signs the AWS documentation GET Bucket example: a query string', () => {
    const headers: Record<string, string> = { host: 'examplebucket.s3.amazonaws.com' };
    new SigV4Signer().sign(
      {
        method: 'GET',
        path: '/',
        query: canonicalQuery({ prefix: 'J', 'max-keys': '2' }),
        headers,
        payloadHash: EMPTY_SHA256,
      },
      EXAMPLE_CREDS,
      'us-east-1',
      Date.UTC(2013, 4, 24),
    );
    expect(headers.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, ' +
        'SignedHeaders=host;x-amz-content-sha256;x-amz-date, ' +
        'Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7',
    );
  });

  it('encodes and sorts query parameters', () => {
    expect(canonicalQuery({ uploadId: 'a b/c~d*', partNumber: '12' })).toBe(
      'partNumber=12&uploadId=a%20b%2Fc~d%2A',
    );
    expect(canonicalQuery({})).toBe('');
  });

  it('signs UNSIGNED-PAYLOAD by default, with the session token, and a new key for a new day', () => {
    const signer = new SigV4Signer();
    const sign = (ms: number): Record<string, string> => {
      const headers: Record<string, string> = { host: 'h' };
      signer.sign({ method: 'GET', path: '/b/k', headers }, { ...EXAMPLE_CREDS, sessionToken: 'T' }, 'r', ms);
      return headers;
    };
    const first = sign(Date.UTC(2026, 0, 1, 23, 59, 59));
    expect(first['x-amz-content-sha256']).toBe('UNSIGNED-PAYLOAD');
    expect(first['x-amz-security-token']).toBe('T');
    expect(first.authorization).toContain(
      'SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token',
    );
    const next = sign(Date.UTC(2026, 0, 2));
    expect(next.authorization).toContain('/20260102/r/s3/aws4_request');
    // The same request signed by a fresh signer (no cached key) gives the same signature.
    const fresh: Record<string, string> = { host: 'h' };
    new SigV4Signer().sign(
      { method: 'GET', path: '/b/k', headers: fresh },
      { ...EXAMPLE_CREDS, sessionToken: 'T' },
      'r',
      Date.UTC(2026, 0, 2),
    );
    expect(fresh.authorization).toBe(next.authorization);
  });

  it('formats x-amz-date (the same second twice, then the next ones)', () => {
    expect(amzDate(Date.UTC(2026, 10, 26, 5, 4, 3, 999))).toBe('20261126T050403Z');
    expect(amzDate(Date.UTC(2026, 10, 26, 5, 4, 3, 0))).toBe('20261126T050403Z');
    expect(amzDate(Date.UTC(2026, 10, 26, 5, 4, 4, 1))).toBe('20261126T050404Z');
    expect(amzDate(Date.UTC(2026, 11, 31, 23, 59, 59, 500))).toBe('20261231T235959Z');
    expect(amzDate(Date.UTC(2027, 0, 1))).toBe('20270101T000000Z');
  });

  it('signs header values trimmed, with runs of white space as one space', () => {
    const signed = (value: string) => {
      const headers: Record<string, string> = { host: 'h', 'x-amz-meta-a': value };
      new SigV4Signer().sign({ method: 'GET', path: '/k', headers }, EXAMPLE_CREDS, 'us-east-1', 0);
      return headers.authorization;
    };
    const plain = signed('a b c');
    for (const v of ['  a b c', 'a b c ', 'a  b c', 'a\tb c', 'a \n b\u00a0c', ' a   b  c '])
      expect(signed(v), JSON.stringify(v)).toBe(plain);
    expect(signed('a b  c')).toBe(plain);
    expect(signed('a bc')).not.toBe(plain);
  });
});

describe('encodeKeyPath', () => {
  it('escapes every byte but unreserved ones, keeping slashes', () => {
    expect(encodeKeyPath('a b/c')).toBe('a%20b/c');
    expect(encodeKeyPath("/x//./../!'()*~-_.")).toBe('/x//./../%21%27%28%29%2A~-_.');
    expect(encodeKeyPath('é\u0001+%2F?#')).toBe('%C3%A9%01%2B%252F%3F%23');
  });
});
