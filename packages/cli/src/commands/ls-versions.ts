/**
 * `ls -versions SNAPSHOT:PATH`: the versions of one S3 key recorded by a backup with the S3
 * source's `versions=all`, newest first, streamed from the key's directory under `/%%versions`
 * (docs/FORMAT.md, "S3 object versions"). The names are the S3 connectors' (s3-common
 * metadata-keys.ts and version-names.ts), repeated here as entry-metadata.ts does (the CLI loads no
 * connector to print a listing); test/ls-versions-names.test.ts checks them against s3-common.
 */
import type { EntryView, OpenStore } from '../engine/engine.ts';
import { CliError } from '../errors.ts';
import { formatBytes } from '../output/format.ts';
import type { JsonObject } from '../output/json.ts';
import type { CommandContext } from './command.ts';
import { isNoSuchPath } from './entry-at.ts';

export const META_KEY = 's3.key';
export const META_ETAG = 's3.etag';
export const META_VERSION_ID = 's3.version-id';
export const META_IS_LATEST = 's3.is-latest';
export const META_LAST_MODIFIED = 's3.last-modified';
export const META_DELETE_MARKER = 's3.delete-marker';
export const VERSIONS_DIR = '%%versions';

/**
 * The directory of the versions of the object at `path` of the plain tree: `/%%versions`, the
 * parent's names, and the last name in its file-twin form (s3-common names.ts: a plain name `n`
 * is `%n%` with `%` written `%25`; an escaped name `%e` is `%e%`; a twin form is itself).
 * Undefined for the root.
 */
export function versionDirOfPath(path: string): string | undefined {
  const names = path.split('/').slice(1);
  const last = names.pop();
  if (last === undefined || last === '') return undefined;
  let twin: string;
  if (!last.startsWith('%')) twin = `%${last.replaceAll('%', '%25')}%`;
  else if (last.length >= 2 && last.endsWith('%')) twin = last;
  else twin = `${last}%`;
  return `/${[VERSIONS_DIR, ...names, twin].join('/')}`;
}

/**
 * The name the key of a versions directory named `name` has in the plain tree (without its folder
 * twin): a file-twin form `%e%` is the key segment's name `e` decoded when that segment is plain
 * (s3-common names.ts), else its escaped form `%e`. Undefined for a name that is not a file-twin
 * form (a folder's directory).
 */
export function keyNameOfVersionDir(name: string): string | undefined {
  if (name.length < 2 || !name.startsWith('%') || !name.endsWith('%')) return undefined;
  const escaped = name.slice(0, -1);
  const segment = escaped.slice(1).replace(/%(25|00)/g, (_m, hex: string) => (hex === '25' ? '%' : '\0'));
  const plain =
    segment.length > 0 &&
    segment !== '.' &&
    segment !== '..' &&
    !segment.includes('\0') &&
    !segment.startsWith('%');
  return plain ? segment : escaped;
}

/** One version as `ls -versions -json` shows it (and `diff -json` a version change). */
export function versionJson(e: EntryView): JsonObject {
  const m = e.metadata;
  return {
    key: m[META_KEY] ?? null,
    version_id: m[META_VERSION_ID] ?? null,
    last_modified: m[META_LAST_MODIFIED] ?? null,
    size: e.size,
    latest: m[META_IS_LATEST] === 'true',
    delete_marker: m[META_DELETE_MARKER] === 'true',
    etag: m[META_ETAG] ?? null,
    path: e.path,
  };
}

/** What `ls -versions` and `diff` show of a version entry: its id, LastModified and flags. */
export interface VersionFacts {
  /** `-` when the entry has no `s3.version-id`. */
  readonly id: string;
  /** `s3.last-modified` as recorded, `-` when absent. */
  readonly time: string;
  readonly latest: boolean;
  readonly deleteMarker: boolean;
}

export function versionFacts(e: EntryView): VersionFacts {
  const m = e.metadata;
  return {
    id: m[META_VERSION_ID] ?? '-',
    time: m[META_LAST_MODIFIED] ?? '-',
    latest: m[META_IS_LATEST] === 'true',
    deleteMarker: m[META_DELETE_MARKER] === 'true',
  };
}

/** One version as a line: id, LastModified, size, and `latest` / `delete-marker`. */
function versionLine(e: EntryView): string {
  const v = versionFacts(e);
  const marks = [...(v.latest ? ['latest'] : []), ...(v.deleteMarker ? ['delete-marker'] : [])];
  return `${v.id}  ${v.time}  ${formatBytes(e.size).padStart(10)}  ${marks.join(' ')}`.trimEnd();
}

/** Lists the versions of the key at `path` of snapshot `id` (shown as `ref`). */
export async function listVersions(
  ctx: CommandContext,
  store: OpenStore,
  id: string,
  path: string,
  ref: string,
): Promise<void> {
  const dir = versionDirOfPath(path);
  if (dir === undefined) throw new CliError(`ls -versions: ${ref}: not the path of an S3 object`);
  let first = true;
  try {
    for await (const entry of store.entries(id, dir, false)) {
      // The first entry is the key's versions directory itself.
      if (first) {
        first = false;
        if (entry.type !== 'directory') break;
        continue;
      }
      if (entry.type !== 'file') continue;
      if (ctx.out.json) await ctx.out.record(versionJson(entry));
      else await ctx.out.text(versionLine(entry));
    }
  } catch (err) {
    if (first && isNoSuchPath(err)) {
      throw new CliError(
        `ls -versions: ${ref}: no versions recorded for this key (the snapshot holds versions when taken with the S3 source's versions=all)`,
      );
    }
    throw err;
  }
}
