/**
 * Object attributes <-> entry metadata (keys of metadata-keys.ts), both ways: what the S3 source
 * records from HeadObject or GetObject and GetObjectTagging, and the headers the S3 destination writes back.
 */
import type { HeadObjectCommandOutput, Tag } from '@aws-sdk/client-s3';
import { unquoteEtag } from './md5.ts';
import {
  META_CACHE_CONTROL,
  META_CHECKSUM_PREFIX,
  META_CHECKSUM_TYPE,
  META_CONTENT_DISPOSITION,
  META_CONTENT_ENCODING,
  META_CONTENT_LANGUAGE,
  META_CONTENT_TYPE,
  META_ETAG,
  META_EXPIRES,
  META_KEY,
  META_SSE,
  META_STORAGE_CLASS,
  META_TAG_PREFIX,
  META_USER_PREFIX,
  META_VERSION_ID,
  META_WEBSITE_REDIRECT,
} from './metadata-keys.ts';
import type { ObjectHeaders } from './object-headers.ts';

/** The fields HeadObject and GetObject both answer with: what an object's metadata is built from. */
export type ObjectHeaderFields = Pick<
  HeadObjectCommandOutput,
  | 'ETag'
  | 'VersionId'
  | 'StorageClass'
  | 'ContentType'
  | 'ContentEncoding'
  | 'ContentDisposition'
  | 'ContentLanguage'
  | 'CacheControl'
  | 'Expires'
  | 'ExpiresString'
  | 'WebsiteRedirectLocation'
  | 'ServerSideEncryption'
  | 'ChecksumCRC32'
  | 'ChecksumCRC32C'
  | 'ChecksumCRC64NVME'
  | 'ChecksumSHA1'
  | 'ChecksumSHA256'
  | 'ChecksumType'
  | 'Metadata'
>;

/** Builds the metadata of one object from its HeadObject (or GetObject) answer and its tags. */
export function objectMetadata(
  key: string,
  head: ObjectHeaderFields,
  tags: readonly Tag[],
  listedStorageClass?: string,
): Record<string, string> {
  const m: Record<string, string> = { [META_KEY]: key };
  const set = (name: string, value: string | undefined): void => {
    if (value !== undefined && value !== '') m[name] = value;
  };
  set(META_ETAG, head.ETag !== undefined ? unquoteEtag(head.ETag) : undefined);
  set(META_VERSION_ID, head.VersionId !== 'null' ? head.VersionId : undefined);
  set(META_STORAGE_CLASS, head.StorageClass ?? listedStorageClass);
  set(META_CONTENT_TYPE, head.ContentType);
  set(META_CONTENT_ENCODING, head.ContentEncoding);
  set(META_CONTENT_DISPOSITION, head.ContentDisposition);
  set(META_CONTENT_LANGUAGE, head.ContentLanguage);
  set(META_CACHE_CONTROL, head.CacheControl);
  set(META_EXPIRES, head.ExpiresString ?? head.Expires?.toUTCString());
  set(META_WEBSITE_REDIRECT, head.WebsiteRedirectLocation);
  set(META_SSE, head.ServerSideEncryption);
  set(`${META_CHECKSUM_PREFIX}crc32`, head.ChecksumCRC32);
  set(`${META_CHECKSUM_PREFIX}crc32c`, head.ChecksumCRC32C);
  set(`${META_CHECKSUM_PREFIX}crc64nvme`, head.ChecksumCRC64NVME);
  set(`${META_CHECKSUM_PREFIX}sha1`, head.ChecksumSHA1);
  set(`${META_CHECKSUM_PREFIX}sha256`, head.ChecksumSHA256);
  if (Object.keys(m).some((k) => k.startsWith(META_CHECKSUM_PREFIX)))
    set(META_CHECKSUM_TYPE, head.ChecksumType);
  for (const [name, value] of Object.entries(head.Metadata ?? {})) m[`${META_USER_PREFIX}${name}`] = value;
  for (const t of tags) if (t.Key !== undefined) m[`${META_TAG_PREFIX}${t.Key}`] = t.Value ?? '';
  return m;
}

/**
 * True when the ETag of this object is the MD5 of its body (single PUT, no SSE-KMS or SSE-C). Takes
 * a HeadObject answer, or the same fields from a listing and recorded metadata.
 */
export function etagIsBodyMd5(
  head: Pick<HeadObjectCommandOutput, 'ETag' | 'SSECustomerAlgorithm'> & {
    readonly ServerSideEncryption?: string | undefined;
  },
): boolean {
  if (head.ETag === undefined || !/^[0-9a-f]{32}$/i.test(unquoteEtag(head.ETag))) return false;
  if (head.SSECustomerAlgorithm !== undefined) return false;
  return !(head.ServerSideEncryption ?? '').startsWith('aws:kms');
}

/**
 * The headers to restore an object with, from its entry metadata: Content-* headers, Cache-Control,
 * Expires, the website redirect, user metadata and tags. Not restored: ETag, version id, checksums,
 * server-side encryption (the target decides) and the storage class (the destination's option does).
 */
export function headersFromMetadata(metadata: Readonly<Record<string, string>>): ObjectHeaders {
  const get = (k: string): string | undefined => metadata[k];
  const user: Record<string, string> = {};
  const tags: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata)) {
    if (k.startsWith(META_USER_PREFIX)) user[k.slice(META_USER_PREFIX.length)] = v;
    else if (k.startsWith(META_TAG_PREFIX)) tags[k.slice(META_TAG_PREFIX.length)] = v;
  }
  const expiresRaw = get(META_EXPIRES);
  const expires = expiresRaw !== undefined ? new Date(expiresRaw) : undefined;
  const h: { -readonly [K in keyof ObjectHeaders]: ObjectHeaders[K] } = {};
  const contentType = get(META_CONTENT_TYPE);
  const contentEncoding = get(META_CONTENT_ENCODING);
  const contentDisposition = get(META_CONTENT_DISPOSITION);
  const contentLanguage = get(META_CONTENT_LANGUAGE);
  const cacheControl = get(META_CACHE_CONTROL);
  const redirect = get(META_WEBSITE_REDIRECT);
  if (contentType !== undefined) h.contentType = contentType;
  if (contentEncoding !== undefined) h.contentEncoding = contentEncoding;
  if (contentDisposition !== undefined) h.contentDisposition = contentDisposition;
  if (contentLanguage !== undefined) h.contentLanguage = contentLanguage;
  if (cacheControl !== undefined) h.cacheControl = cacheControl;
  if (expires !== undefined && !Number.isNaN(expires.getTime())) h.expires = expires;
  if (redirect !== undefined) h.websiteRedirectLocation = redirect;
  if (Object.keys(user).length > 0) h.metadata = user;
  if (Object.keys(tags).length > 0) h.tags = tags;
  return h;
}
