/** What the S3 source records about an object, as entry metadata (see s3-common metadata-keys.ts). */
import type { HeadObjectCommandOutput, Tag } from '@aws-sdk/client-s3';
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
  unquoteEtag,
} from '@kloset/s3-common';

/** Builds the metadata of one object from its HeadObject answer and its tags. */
export function objectMetadata(
  key: string,
  head: HeadObjectCommandOutput,
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

/** True when the ETag of this object is the MD5 of its body (single PUT, no SSE-KMS or SSE-C). */
export function etagIsBodyMd5(head: HeadObjectCommandOutput): boolean {
  if (head.ETag === undefined || !/^[0-9a-f]{32}$/i.test(unquoteEtag(head.ETag))) return false;
  if (head.SSECustomerAlgorithm !== undefined) return false;
  return !(head.ServerSideEncryption ?? '').startsWith('aws:kms');
}
