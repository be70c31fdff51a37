/** The ListObjectsV2 parser, and the plain listing against RGW next to the SDK's. */
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createS3Connection,
  listingKeyDecoder,
  parseListPage,
  readS3Settings,
  S3_COMMON_OPTIONS,
  type S3Connection,
} from '../src/index.ts';
import { s3TestBuckets, s3TestParams } from '../src/testing/index.ts';

describe('parseListPage', () => {
  it('reads the fields the connectors use, entities decoded, page fields outside the items', () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>p%2F</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys><EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>
<Contents><Key>p/a%26b</Key><LastModified>2026-01-02T03:04:05.678Z</LastModified><ETag>&quot;0123456789abcdef0123456789abcdef&quot;</ETag><Size>12</Size><StorageClass>STANDARD</StorageClass><Owner><ID>o</ID></Owner></Contents>
<Contents><Key>p/c</Key><LastModified>2026-01-02T03:04:06.000Z</LastModified><ETag>&#34;x-2&#x22;</ETag><Size>0</Size></Contents>
<NextContinuationToken>tok&amp;en</NextContinuationToken></ListBucketResult>`;
    const page = parseListPage(xml);
    expect(page).toEqual({
      Contents: [
        {
          Key: 'p/a%26b',
          Size: 12,
          LastModified: new Date('2026-01-02T03:04:05.678Z'),
          ETag: '"0123456789abcdef0123456789abcdef"',
          StorageClass: 'STANDARD',
        },
        { Key: 'p/c', Size: 0, LastModified: new Date('2026-01-02T03:04:06.000Z'), ETag: '"x-2"' },
      ],
      IsTruncated: true,
      NextContinuationToken: 'tok&en',
      EncodingType: 'url',
    });
    expect(parseListPage('<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>')).toEqual({
      Contents: [],
      IsTruncated: false,
    });
    expect(() => parseListPage('<Error><Code>x</Code></Error>')).toThrow(/not a ListObjectsV2/);
    expect(() => parseListPage('<ListBucketResult><Contents><Key>a</Key>')).toThrow(/not well-formed/);
    expect(() => parseListPage('<ListBucketResult><Contents><Key>a</Key></Contents></ListBucket>')).toThrow(
      /not well-formed/,
    );
    const one = parseListPage(
      '<ListBucketResult><Contents><Key> a&lt;b&gt;&amp;&apos;&#233;&#x1F600; </Key></Contents></ListBucketResult>',
    );
    expect(one.Contents).toEqual([{ Key: " a<b>&'é😀 " }]);
  });
});

const s3 = s3TestBuckets();
const { env, client: plain } = s3;
let bucket = '';
let conn: S3Connection;
const KEYS = [
  'a',
  'a/b',
  'dir/',
  '//x',
  '/lead',
  'x/./../y',
  'ünï/çødé',
  'ctl\u0001\u001f',
  'q?#%2F+&=<>"\'',
  'k'.repeat(1024),
];

beforeAll(async () => {
  bucket = await s3.create('listobj');
  conn = createS3Connection(readS3Settings(s3TestParams(env, bucket, ''), S3_COMMON_OPTIONS));
  for (const [i, key] of KEYS.entries()) {
    await plain.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.alloc(i * 10, i) }));
  }
});
afterAll(async () => {
  conn?.destroy();
  await s3.dispose();
});

describe('S3Connection.listObjects', () => {
  it('lists every key byte for byte, page by page, as the SDK does', async () => {
    const got: { key: string; size?: number; etag?: string; modified?: number }[] = [];
    let token: string | undefined;
    do {
      const page = await conn.listObjects({ maxKeys: 3, ...(token ? { continuationToken: token } : {}) });
      expect(page.Contents.length).toBeLessThanOrEqual(3);
      const decode = listingKeyDecoder(page.EncodingType);
      for (const o of page.Contents)
        got.push({ key: decode(o.Key), size: o.Size, etag: o.ETag, modified: o.LastModified?.getTime() });
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    const sdk = await plain.send(new ListObjectsV2Command({ Bucket: bucket, EncodingType: 'url' }));
    const decode = listingKeyDecoder(sdk.EncodingType);
    expect(got).toEqual(
      (sdk.Contents ?? []).map((o) => ({
        key: decode(o.Key!),
        size: o.Size,
        etag: o.ETag,
        modified: o.LastModified?.getTime(),
      })),
    );
    expect(got.map((g) => g.key).sort()).toEqual([...KEYS].sort());
    const prefixed = await conn.listObjects({ prefix: 'a/' });
    const decodePrefixed = listingKeyDecoder(prefixed.EncodingType);
    expect(prefixed.Contents.map((o) => decodePrefixed(o.Key))).toEqual(['a/b']);
  });
});
