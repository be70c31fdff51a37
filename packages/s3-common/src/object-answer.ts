/**
 * The response headers of a GetObject as the SDK's GetObjectCommandOutput fields (the same that
 * HeadObject answers with), for the GetObject of get-object.ts (undici, transport.ts).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { HeadObjectCommandOutput } from '@aws-sdk/client-s3';
import type { ObjectHeaderFields } from './object-metadata.ts';

/** What a GetObject answers besides its body. */
export type ObjectAnswer = ObjectHeaderFields &
  Pick<
    HeadObjectCommandOutput,
    'TagCount' | 'ContentLength' | 'ContentRange' | 'LastModified' | 'SSECustomerAlgorithm'
  >;

const USER_METADATA = 'x-amz-meta-';

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

function int(v: string | undefined): number | undefined {
  if (v === undefined || !/^\d+$/.test(v.trim())) return undefined;
  return Number(v);
}

function date(v: string | undefined): Date | undefined {
  if (v === undefined) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** The answer fields taken as they are, and their headers. */
const STRING_FIELDS = [
  ['ETag', 'etag'],
  ['VersionId', 'x-amz-version-id'],
  ['StorageClass', 'x-amz-storage-class'],
  ['ContentType', 'content-type'],
  ['ContentEncoding', 'content-encoding'],
  ['ContentDisposition', 'content-disposition'],
  ['ContentLanguage', 'content-language'],
  ['CacheControl', 'cache-control'],
  ['ContentRange', 'content-range'],
  ['WebsiteRedirectLocation', 'x-amz-website-redirect-location'],
  ['ServerSideEncryption', 'x-amz-server-side-encryption'],
  ['SSECustomerAlgorithm', 'x-amz-server-side-encryption-customer-algorithm'],
  ['ChecksumCRC32', 'x-amz-checksum-crc32'],
  ['ChecksumCRC32C', 'x-amz-checksum-crc32c'],
  ['ChecksumCRC64NVME', 'x-amz-checksum-crc64nvme'],
  ['ChecksumSHA1', 'x-amz-checksum-sha1'],
  ['ChecksumSHA256', 'x-amz-checksum-sha256'],
  ['ChecksumType', 'x-amz-checksum-type'],
] as const;

/** The answer fields of `headers` (names lower-case, as Node gives them). */
export function objectAnswer(headers: IncomingHttpHeaders): ObjectAnswer {
  const a: Record<string, unknown> = {};
  for (const [field, name] of STRING_FIELDS) {
    const v = header(headers, name);
    if (v !== undefined) a[field] = v;
  }
  const numbers = { TagCount: 'x-amz-tagging-count', ContentLength: 'content-length' } as const;
  for (const [field, name] of Object.entries(numbers)) {
    const v = int(header(headers, name));
    if (v !== undefined) a[field] = v;
  }
  const dates = { Expires: 'expires', LastModified: 'last-modified' } as const;
  for (const [field, name] of Object.entries(dates)) {
    const v = date(header(headers, name));
    if (v !== undefined) a[field] = v;
  }
  const metadata: Record<string, string> = {};
  let hasMetadata = false;
  for (const name of Object.keys(headers)) {
    if (!name.startsWith(USER_METADATA)) continue;
    const v = header(headers, name);
    if (v === undefined) continue;
    metadata[name.slice(USER_METADATA.length)] = v;
    hasMetadata = true;
  }
  if (hasMetadata) a.Metadata = metadata;
  // Built from the tables above: string fields are strings, numbers numbers, dates Dates.
  return a as ObjectAnswer;
}
