/** MD5 helpers: Content-MD5 headers and ETag checks. */
import { createHash } from 'node:crypto';

/** The base64 MD5 of `data`, as sent in a Content-MD5 header. */
export function contentMd5(data: Uint8Array): string {
  return createHash('md5').update(data).digest('base64');
}

/** An ETag without its quotes (`"abc"` -> `abc`; `W/"abc"` -> `abc`). */
export function unquoteEtag(etag: string): string {
  // String tests rather than regular expressions: called a few times per object backed up.
  const s = etag.startsWith('W/') ? etag.slice(2) : etag;
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
}

/** True when an ETag is a plain MD5 of the body (32 hex digits, not a multipart `-N` ETag). */
export function isMd5Etag(etag: string): boolean {
  return /^[0-9a-f]{32}$/i.test(unquoteEtag(etag));
}
