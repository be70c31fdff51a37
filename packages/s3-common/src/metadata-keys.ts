/**
 * The entry metadata the S3 source records and the S3 destination restores. Every key is
 * namespaced `s3.`; values are strings exactly as S3 returned them.
 */

/** Files: the exact object key (full key, root prefix included). */
export const META_KEY = 's3.key';
/** Directories: the key prefix the directory stands for (`photos/2024/`; the root: the source prefix). */
export const META_PREFIX = 's3.prefix';
/** The ETag without quotes (`"-N"` for multipart uploads). Also the record's changeToken. */
export const META_ETAG = 's3.etag';
export const META_VERSION_ID = 's3.version-id';
export const META_STORAGE_CLASS = 's3.storage-class';
export const META_CONTENT_TYPE = 's3.content-type';
export const META_CONTENT_ENCODING = 's3.content-encoding';
export const META_CONTENT_DISPOSITION = 's3.content-disposition';
export const META_CONTENT_LANGUAGE = 's3.content-language';
export const META_CACHE_CONTROL = 's3.cache-control';
/** The Expires header as sent by the server (an HTTP date). */
export const META_EXPIRES = 's3.expires';
export const META_WEBSITE_REDIRECT = 's3.website-redirect-location';
/** Server-side encryption (`AES256`, `aws:kms`...): recorded, not restored. */
export const META_SSE = 's3.server-side-encryption';
/** `s3.checksum.crc32`, `s3.checksum.crc32c`, `s3.checksum.crc64nvme`, `s3.checksum.sha1`, `s3.checksum.sha256`. */
export const META_CHECKSUM_PREFIX = 's3.checksum.';
/** `COMPOSITE` or `FULL_OBJECT`, when a checksum is present. */
export const META_CHECKSUM_TYPE = 's3.checksum-type';
/** User metadata: `s3.meta.<name>` (x-amz-meta-<name>, name in lower case as S3 returns it). */
export const META_USER_PREFIX = 's3.meta.';
/** Tags: `s3.tag.<key>`. */
export const META_TAG_PREFIX = 's3.tag.';
/**
 * Versions recorded with the source's `versions=all` (docs/FORMAT.md, "S3 object versions"): on
 * every version entry `s3.version-id` (`null` for the null version), `s3.is-latest` (`true` or
 * `false`, as listed), `s3.last-modified` (the listed LastModified, ISO 8601 with milliseconds), and
 * `s3.delete-marker: true` on a delete marker (an entry of size 0 with no content).
 */
export const META_IS_LATEST = 's3.is-latest';
export const META_LAST_MODIFIED = 's3.last-modified';
export const META_DELETE_MARKER = 's3.delete-marker';
