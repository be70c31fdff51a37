/**
 * Which key a restored entry gets: the restore is relative to the restored root, and the keys go
 * under the destination prefix.
 *
 * - An entry backed up by the S3 source carries its exact key (`s3.key`) and the restored root
 *   carries the key prefix it stood for (`s3.prefix`): the new key is the destination prefix plus
 *   the old key minus that prefix. Restoring `/photos` of a backup of `s3://h/src/data` into
 *   `s3://h/dst/restored` turns `data/photos/2024/a.jpg` into `restored/2024/a.jpg`.
 * - Without the root's prefix, the same relative key is rebuilt from the path names (they invert
 *   exactly, see s3-common names.ts); a file restored alone keeps the last segment of its key.
 * - An entry from another source (a local directory...) has no `s3.key`: its path without the
 *   leading `/` is the relative key.
 */
import { type EntryAttributes, splitPath } from '@kloset/connector-contract';
import { decodeName, META_KEY } from '@kloset/s3-common';

/** The key relative to the restored root, or an error message. */
export function relativeKey(
  entry: EntryAttributes,
  rootPrefix: string | undefined,
): { key: string } | { error: string } {
  const sourceKey = entry.metadata[META_KEY];
  if (sourceKey === undefined) {
    if (entry.path === '/') return { error: 'a file restored alone without its name cannot be given a key' };
    return { key: entry.path.slice(1) };
  }
  if (rootPrefix !== undefined && sourceKey.startsWith(rootPrefix))
    return { key: sourceKey.slice(rootPrefix.length) };
  if (entry.path === '/') return { key: sourceKey.slice(sourceKey.lastIndexOf('/') + 1) };
  const segments: string[] = [];
  for (const name of splitPath(entry.path)) {
    const decoded = decodeName(name);
    if (decoded === undefined)
      return { error: `path name ${JSON.stringify(name)} is not one the S3 source writes` };
    segments.push(decoded.segment);
  }
  return { key: segments.join('/') };
}
