/**
 * The headers an object is written with, as the SDK's command fields (CreateMultipartUpload, and
 * uploads sent through the SDK) and as the HTTP headers of a plain PutObject (put-object.ts).
 */
import type { ObjectLockMode, StorageClass } from '@aws-sdk/client-s3';

/** An Object Lock retention: its mode and the date until which the version cannot be deleted. */
export interface ObjectRetention {
  readonly mode: 'GOVERNANCE' | 'COMPLIANCE';
  readonly retainUntil: Date;
}

/** The headers and attributes an object is written with. */
export interface ObjectHeaders {
  readonly contentType?: string;
  readonly contentEncoding?: string;
  readonly contentDisposition?: string;
  readonly contentLanguage?: string;
  readonly cacheControl?: string;
  readonly expires?: Date;
  readonly websiteRedirectLocation?: string;
  /** User metadata (x-amz-meta-*), names without the prefix. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Tags, sent as the x-amz-tagging header. */
  readonly tags?: Readonly<Record<string, string>>;
  readonly storageClass?: string;
  /** Object Lock retention of the version written (the bucket must have Object Lock enabled). */
  readonly retention?: ObjectRetention;
}

/** URL-query form of tags for the x-amz-tagging header. */
export function encodeTagging(tags: Readonly<Record<string, string>>): string | undefined {
  const entries = Object.entries(tags);
  if (entries.length === 0) return undefined;
  return entries.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
}

/** `h` as the fields of an SDK PutObject / CreateMultipartUpload command. */
export function sdkHeaderParams(h: ObjectHeaders = {}) {
  const tagging = h.tags ? encodeTagging(h.tags) : undefined;
  return {
    ...(h.contentType !== undefined ? { ContentType: h.contentType } : {}),
    ...(h.contentEncoding !== undefined ? { ContentEncoding: h.contentEncoding } : {}),
    ...(h.contentDisposition !== undefined ? { ContentDisposition: h.contentDisposition } : {}),
    ...(h.contentLanguage !== undefined ? { ContentLanguage: h.contentLanguage } : {}),
    ...(h.cacheControl !== undefined ? { CacheControl: h.cacheControl } : {}),
    ...(h.expires !== undefined ? { Expires: h.expires } : {}),
    ...(h.websiteRedirectLocation !== undefined
      ? { WebsiteRedirectLocation: h.websiteRedirectLocation }
      : {}),
    ...(h.metadata !== undefined && Object.keys(h.metadata).length > 0
      ? { Metadata: { ...h.metadata } }
      : {}),
    ...(tagging !== undefined ? { Tagging: tagging } : {}),
    ...(h.storageClass !== undefined ? { StorageClass: h.storageClass as StorageClass } : {}),
    ...(h.retention !== undefined
      ? {
          ObjectLockMode: h.retention.mode as ObjectLockMode,
          ObjectLockRetainUntilDate: h.retention.retainUntil,
        }
      : {}),
  };
}

/**
 * `h` as HTTP request headers (names in lower case), as the SDK serializes the same fields:
 * Expires as an IMF-fixdate, user metadata as `x-amz-meta-NAME` (S3 keeps names in lower case).
 */
export function wireHeaders(h: ObjectHeaders = {}): Record<string, string> {
  const out: Record<string, string> = {};
  if (h.contentType !== undefined) out['content-type'] = h.contentType;
  if (h.contentEncoding !== undefined) out['content-encoding'] = h.contentEncoding;
  if (h.contentDisposition !== undefined) out['content-disposition'] = h.contentDisposition;
  if (h.contentLanguage !== undefined) out['content-language'] = h.contentLanguage;
  if (h.cacheControl !== undefined) out['cache-control'] = h.cacheControl;
  if (h.expires !== undefined) out.expires = h.expires.toUTCString();
  if (h.websiteRedirectLocation !== undefined)
    out['x-amz-website-redirect-location'] = h.websiteRedirectLocation;
  for (const [name, value] of Object.entries(h.metadata ?? {}))
    out[`x-amz-meta-${name.toLowerCase()}`] = value;
  const tagging = h.tags ? encodeTagging(h.tags) : undefined;
  if (tagging !== undefined) out['x-amz-tagging'] = tagging;
  if (h.storageClass !== undefined) out['x-amz-storage-class'] = h.storageClass;
  if (h.retention !== undefined) {
    out['x-amz-object-lock-mode'] = h.retention.mode;
    out['x-amz-object-lock-retain-until-date'] = h.retention.retainUntil.toISOString();
  }
  return out;
}
