/** Versions trees (docs/FORMAT.md §8.4) written by hand, for the tests of the restores that read them. */
import type { MemoryEntry } from '@kloset/connector-contract/testing';
import type { VersionsTree } from '../src/restore/restore-options.ts';

export const ROOT = '/%%versions';

/** A version's entry name: newest first (9999999999999 - ms in 13 digits), then its id. */
export const vname = (ms: number, id: string): string =>
  `${String(9_999_999_999_999 - ms).padStart(13, '0')}.${id}`;

/**
 * A version (or a delete marker, `body` undefined) of the key whose versions directory is `dir`,
 * with the user metadata `rev` = its id; `latest` sets `s3.is-latest`.
 */
export function version(dir: string, ms: number, id: string, body?: string, latest = false): MemoryEntry {
  const meta: Record<string, string> = {
    's3.version-id': id,
    's3.is-latest': String(latest),
    's3.last-modified': new Date(ms).toISOString(),
  };
  if (body === undefined) meta['s3.delete-marker'] = 'true';
  else meta['s3.meta.rev'] = id;
  return { path: `${dir}/${vname(ms, id)}`, type: 'file', bytes: Buffer.from(body ?? ''), metadata: meta };
}

export const dir = (path: string): MemoryEntry => ({ path, type: 'directory' });

/** A file-twin name `%e%` restored as `e` unescaped (all the names here are plain or `y%`). */
const keyName = (name: string): string | undefined =>
  name.length >= 2 && name.startsWith('%') && name.endsWith('%')
    ? name.slice(1, -1).replaceAll('%25', '%')
    : undefined;

/** The versions tree under ROOT, named as above. */
export const versionsTree: VersionsTree = {
  root: ROOT,
  keyName,
  keyDir: (path) => {
    const names = path.split('/');
    const last = names.pop()!;
    return [ROOT, ...names.slice(1), `%${last.replaceAll('%', '%25')}%`].join('/');
  },
};
