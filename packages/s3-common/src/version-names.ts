/**
 * Where the versions of a key live in a snapshot of the S3 source taken with `versions=all`
 * (docs/FORMAT.md, "S3 object versions"): under the root directory `/%%versions`, a name the key
 * encoding of names.ts never produces (so no key collides with it). A key `a/b/c` has the directory
 * `/%%versions/a/b/%c%`: its folder segments encoded as in the plain tree, its last segment always
 * in the file-twin form, so that a key's directory never meets a folder's. It holds one file per
 * version (or delete marker) named `versionName`, newest first in name order.
 */
import { decodeName, encodeFileTwin, encodeSegment } from './names.ts';

/** The name of the root directory that holds the versions. */
export const VERSIONS_DIR = '%%versions';

/** LastModified in ms is written as this minus it, in 13 digits: newer versions sort first. */
const TIME_COMPLEMENT = 9_999_999_999_999;

/**
 * The entry name of a version: the 13 digits of 9999999999999 minus its LastModified in
 * milliseconds since the epoch, `.`, and the version id with `%`, `/` and NUL written `%25`, `%2F`
 * and `%00`. Names sort newest first; versions with the same LastModified by version id.
 */
export function versionName(lastModifiedMs: number, versionId: string): string {
  const time = String(TIME_COMPLEMENT - lastModifiedMs).padStart(13, '0');
  const id = versionId.replaceAll('%', '%25').replaceAll('/', '%2F').replaceAll('\0', '%00');
  return `${time}.${id}`;
}

/** The names from the root to the directory of a key's versions (`key` relative to the root prefix). */
export function versionDirNames(key: string): string[] {
  const segments = key.split('/');
  const last = segments.pop() ?? '';
  return [VERSIONS_DIR, ...segments.map(encodeSegment), encodeFileTwin(last)];
}

/**
 * The directory of the versions of the file at `path` of the plain tree (`/a/b/c`, or its twin form
 * `/a/b/%c%`); undefined for the root or a name the encoding never produces.
 */
export function versionDirOfPath(path: string): string | undefined {
  const names = path.split('/').slice(1);
  const last = names.pop();
  if (last === undefined || last === '') return undefined;
  const decoded = decodeName(last);
  if (decoded === undefined) return undefined;
  return `/${[VERSIONS_DIR, ...names, encodeFileTwin(decoded.segment)].join('/')}`;
}
