/**
 * What a restore across kinds should give, worked out independently of kloset's code: a directory
 * tree restored into a bucket (its files as objects), and a bucket restored into a directory (its
 * keys as paths, in the documented name scheme of the S3 source). Compared with what an
 * independent client sees (`viewObjects`) and with `describeTree`.
 */
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { ObjectView } from '@kloset/s3-common/testing';
import type { TreeItem } from './tree.ts';

/** The items of `describeTree` by path (an order-free comparison). */
export function byPath(items: readonly TreeItem[]): Record<string, TreeItem> {
  return Object.fromEntries(items.map((i) => [i.path, i]));
}

/**
 * The objects a directory tree (described by `describeTree`) becomes in a bucket: one per file,
 * keyed by its path, with no headers of its own (the server's default Content-Type), no user
 * metadata, no tags. Directories and symlinks give no object.
 */
export async function objectsOfTree(
  root: string,
  items: readonly TreeItem[],
  defaultContentType: string,
): Promise<Map<string, ObjectView>> {
  const out = new Map<string, ObjectView>();
  for (const i of items) {
    if (i.type !== 'file') continue;
    const { size } = await lstat(join(root, i.path));
    out.set(i.path, { size, sha256: i.sha256!, contentType: defaultContentType, metadata: {}, tags: {} });
  }
  return out;
}

/** Every key of `bucket` with its LastModified in milliseconds (ListObjectsV2, URL-encoded keys). */
export async function lastModified(client: S3Client, bucket: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        EncodingType: 'url',
        ...(token ? { ContinuationToken: token } : {}),
      }),
    );
    const decode = page.EncodingType === 'url' ? decodeURIComponent : (k: string) => k;
    for (const o of page.Contents ?? [])
      out.set(decode(o.Key ?? ''), o.LastModified?.getTime() ?? Number.NaN);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

/**
 * A key segment as a path name, as the S3 source's scheme documents it: a segment that is not
 * empty, `.` or `..`, has no NUL and does not start with `%` is its own name; any other is `%` and
 * the segment with `%` as `%25` and NUL as `%00`; a file whose key is also a folder (`a` beside
 * `a/b`) is `%`, the escaped segment, `%`.
 */
function segmentName(segment: string, twin: boolean): string {
  const escaped = segment.replaceAll('%', '%25').replaceAll('\0', '%00');
  if (twin) return `%${escaped}%`;
  const plain = segment !== '' && segment !== '.' && segment !== '..' && !/^%|\0/.test(segment);
  return plain ? segment : `%${escaped}`;
}

/** A path name longer than this is refused by Linux file systems (ENAMETOOLONG). */
const NAME_MAX = 255;

export interface BucketAsTree {
  /** What `describeTree` should see. */
  readonly items: Record<string, TreeItem>;
  /** Snapshot paths (`/a/b`) of the objects no file can hold: a name longer than NAME_MAX bytes. */
  readonly unwritable: string[];
}

/**
 * The tree a bucket backed up whole restores to in a directory: one file per object (mode 0600,
 * mtime its LastModified, its body), one directory per folder (mode 0700), names in the S3
 * source's scheme.
 */
export function treeOfBucket(
  views: ReadonlyMap<string, ObjectView>,
  mtimes: ReadonlyMap<string, number>,
): BucketAsTree {
  const keys = [...views.keys()];
  const items: Record<string, TreeItem> = {};
  const unwritable: string[] = [];
  for (const key of keys) {
    const segments = key.split('/');
    const last = segments.pop()!;
    const names = segments.map((s) => segmentName(s, false));
    names.push(
      segmentName(
        last,
        keys.some((k) => k.startsWith(`${key}/`)),
      ),
    );
    for (let d = 1; d < names.length; d++) {
      const path = names.slice(0, d).join('/');
      items[path] = { path, type: 'directory', mode: 0o700 };
    }
    const path = names.join('/');
    if (names.some((n) => Buffer.byteLength(n) > NAME_MAX)) {
      unwritable.push(`/${path}`);
      continue;
    }
    const mtimeMs = mtimes.get(key);
    if (mtimeMs === undefined) throw new Error(`no LastModified listed for ${JSON.stringify(key)}`);
    items[path] = { path, type: 'file', mode: 0o600, mtimeMs, sha256: views.get(key)!.sha256 };
  }
  return { items, unwritable: unwritable.sort() };
}
