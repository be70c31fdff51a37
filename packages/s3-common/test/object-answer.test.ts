/** GetObject response headers as SDK fields, and the body checksum chosen from them. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { objectAnswer, objectMetadata, responseChecksum } from '../src/index.ts';

describe('objectAnswer', () => {
  it('maps the headers HeadObject and GetObject answer with', () => {
    const answer = objectAnswer({
      etag: '"0123456789abcdef0123456789abcdef"',
      'x-amz-version-id': 'v1',
      'x-amz-storage-class': 'STANDARD_IA',
      'content-type': 'text/plain',
      'content-encoding': 'gzip',
      'content-disposition': 'attachment',
      'content-language': 'fr',
      'cache-control': 'no-cache',
      expires: 'Thu, 01 Jan 2026 00:00:00 GMT',
      'x-amz-website-redirect-location': '/elsewhere',
      'x-amz-server-side-encryption': 'AES256',
      'x-amz-checksum-crc32': 'AAAAAA==',
      'x-amz-checksum-type': 'FULL_OBJECT',
      'x-amz-tagging-count': '2',
      'content-length': '12',
      'last-modified': 'Wed, 31 Dec 2025 23:00:00 GMT',
      'x-amz-meta-owner': 'me',
      'x-amz-meta-empty': '',
    });
    expect(answer).toMatchObject({
      ETag: '"0123456789abcdef0123456789abcdef"',
      VersionId: 'v1',
      StorageClass: 'STANDARD_IA',
      ContentType: 'text/plain',
      CacheControl: 'no-cache',
      WebsiteRedirectLocation: '/elsewhere',
      ServerSideEncryption: 'AES256',
      ChecksumCRC32: 'AAAAAA==',
      ChecksumType: 'FULL_OBJECT',
      TagCount: 2,
      ContentLength: 12,
      Metadata: { owner: 'me', empty: '' },
    });
    expect(answer.Expires?.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(answer.LastModified?.toISOString()).toBe('2025-12-31T23:00:00.000Z');
    const m = objectMetadata('k', answer, []);
    expect(m['s3.expires']).toBe('Thu, 01 Jan 2026 00:00:00 GMT');
  });

  it('leaves out what is absent or malformed', () => {
    expect(objectAnswer({ expires: 'never', 'x-amz-tagging-count': 'x' })).toEqual({});
  });
});

describe('responseChecksum', () => {
  const body = Buffer.from('hello, world');
  const sum = async (fields: Parameters<typeof responseChecksum>[0]): Promise<string | undefined> => {
    const c = responseChecksum(fields);
    if (!c) return undefined;
    c.update(body.subarray(0, 5));
    c.update(body.subarray(5));
    return `${c.algorithm} ${await c.digest()}`;
  };

  it('computes the checksum the answer announces, in the SDK order', async () => {
    const sha256 = createHash('sha256').update(body).digest('base64');
    expect(await sum({ ChecksumSHA256: sha256, ChecksumCRC32: 'x' })).toBe(`sha256 ${sha256}`);
    expect(await sum({ ChecksumCRC32: 'x' })).toBe('crc32 /6tyOg==');
  });

  it('computes CRC32C and CRC64NVME (check values of "123456789")', async () => {
    const check = async (fields: Parameters<typeof responseChecksum>[0]): Promise<string | undefined> => {
      const c = responseChecksum(fields);
      c?.update(Buffer.from('123456789'));
      return c && Buffer.from(await c.digest(), 'base64').toString('hex');
    };
    expect(await check({ ChecksumCRC32C: 'x' })).toBe('e3069283');
    expect(await check({ ChecksumCRC64NVME: 'x' })).toBe('ae8b14860a799888');
  });

  it('skips composite checksums of multipart uploads', async () => {
    expect(await sum({ ChecksumCRC32: 'AAAAAA==-3' })).toBeUndefined();
    expect(await sum({ ChecksumCRC32: 'AAAAAA==-3', ChecksumCRC32C: 'x' })).toMatch(/^crc32c /);
    expect(await sum({})).toBeUndefined();
  });
});
