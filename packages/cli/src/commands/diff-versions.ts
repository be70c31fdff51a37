/**
 * `diff` over the versions tree of S3 snapshots taken with `versions=all` (docs/FORMAT.md, "S3
 * object versions"): a change under `/%%versions` is shown as a change of a key's versions, not as
 * the raw tree entry.
 *
 * - A version or delete marker entry added, removed or changed is a version change of its key:
 *   `+ /docs/a.txt  version ID  TIME  SIZE  latest`, `+ /gone.txt  delete-marker ID  TIME  latest`,
 *   `- /docs/a.txt  version ID  TIME  SIZE` (a version expired, or deleted by its id).
 * - The directories of the versions tree (`/%%versions`, the folders, the keys' directories) are
 *   structure: their changes follow from the versions below them and are not shown.
 * - A version whose only change is `s3.is-latest` is not shown: IsLatest is the newest of a key's
 *   versions, so it flips only when a version of the same key is added or removed, a change shown.
 *
 * Each change is judged alone, as the diff streams it: nothing is gathered per key.
 */
import type { DiffChangeView, DiffSideRequest, EntryView, OpenStore } from '../engine/engine.ts';
import { formatBytes } from '../output/format.ts';
import type { JsonObject } from '../output/json.ts';
import { entryAt } from './entry-at.ts';
import {
  type MetadataChange,
  metadataChangeJson,
  metadataChangeLine,
  metadataChanges,
} from './entry-metadata.ts';
import {
  keyNameOfVersionDir,
  META_IS_LATEST,
  META_LAST_MODIFIED,
  VERSIONS_DIR,
  versionDirOfPath,
  versionFacts,
  versionJson,
} from './ls-versions.ts';
import { entryJson } from './views.ts';

/** LastModified in ms is written in a version's name as this minus it (s3-common version-names.ts). */
const TIME_COMPLEMENT = 9_999_999_999_999;
const VERSION_NAME = /^(\d{13})\.(.*)$/s;

/** What the path of a version entry names. */
export interface VersionPath {
  /** The key's path in the plain tree: its folders, its last segment plain or escaped (not the twin form). */
  readonly keyPath: string;
  /** The version id, `null` for the null version. */
  readonly versionId: string;
  /** LastModified, ms since the epoch. */
  readonly lastModifiedMs: number;
}

/** True for `/%%versions` and the paths below it. */
export function inVersionsTree(path: string): boolean {
  return path === `/${VERSIONS_DIR}` || path.startsWith(`/${VERSIONS_DIR}/`);
}

/**
 * The key and version a path `/%%versions/<folders>/<twin(last)>/<13 digits>.<esc(id)>` names;
 * undefined for any other path (a directory of the versions tree, a name the S3 source never writes).
 */
export function versionOfPath(path: string): VersionPath | undefined {
  const names = path.split('/').slice(1);
  if (names.length < 3 || names[0] !== VERSIONS_DIR) return undefined;
  const match = VERSION_NAME.exec(names.at(-1)!);
  const keyName = keyNameOfVersionDir(names.at(-2)!);
  if (match === null || keyName === undefined) return undefined;
  const versionId = match[2]!.replace(/%(25|2F|00)/g, (_m, hex: string) =>
    hex === '25' ? '%' : hex === '2F' ? '/' : '\0',
  );
  return {
    keyPath: `/${[...names.slice(1, -2), keyName].join('/')}`,
    versionId,
    lastModifiedMs: TIME_COMPLEMENT - Number(match[1]),
  };
}

/** A change of a key's versions. */
export interface VersionChange extends VersionPath {
  readonly change: 'version_added' | 'version_removed' | 'version_changed';
  /** The raw tree path (in the second snapshot, in the first for a removal). */
  readonly path: string;
  /** The version as the side it is shown from records it: the second snapshot, the first for a removal. */
  readonly entry: EntryView;
  /** `version_changed`: what changed (content, metadata...), never `s3.is-latest` alone. */
  readonly fields: readonly string[];
  /** `version_changed`: the metadata that changed, `s3.is-latest` left out. */
  readonly changes: readonly MetadataChange[];
  readonly before?: EntryView;
  readonly after?: EntryView;
}

/** Whether each side of the diff is an S3 snapshot (whose `/%%versions` is a versions tree). */
export interface VersionedSides {
  readonly before: boolean;
  readonly after: boolean;
}

/**
 * How `diff` shows a change: `undefined` as an entry of the tree (the plain tree, and any snapshot
 * not of the S3 source), `'folded'` not at all (structure of the versions tree, an IsLatest flip),
 * or as a version change.
 */
export function versionChangeOf(c: DiffChangeView, s3: VersionedSides): VersionChange | 'folded' | undefined {
  if (!inVersionsTree(c.path)) return undefined;
  if ((c.before && !s3.before) || (c.after && !s3.after)) return undefined;
  const entry = (c.after ?? c.before)!;
  if (c.before?.type === 'directory' || c.after?.type === 'directory') return 'folded';
  const version = entry.type === 'file' ? versionOfPath(c.path) : undefined;
  if (version === undefined) return undefined;
  const base = { ...version, path: c.path, entry, ...(c.before ? { before: c.before } : {}) };
  if (c.change === 'added')
    return { ...base, change: 'version_added', fields: [], changes: [], after: entry };
  if (c.change === 'removed') return { ...base, change: 'version_removed', fields: [], changes: [] };
  const changes = metadataChanges(c.before!.metadata, c.after!.metadata).filter(
    (m) => !(m.kind === 'attribute' && m.name === META_IS_LATEST),
  );
  const fields = c.fields.filter((f) => f !== 'metadata' || changes.length > 0);
  if (fields.length === 0) return 'folded';
  return { ...base, change: 'version_changed', fields, changes, after: entry };
}

const MARK = { version_added: '+', version_removed: '-', version_changed: '~' } as const;

/**
 * `+ /docs/a.txt  version ID  TIME  SIZE  latest`, `+ /gone.txt  delete-marker ID  TIME  latest`,
 * `- /docs/a.txt  version ID  TIME  SIZE  was latest`, `~ ... (metadata)` and its metadata lines.
 */
export function versionChangeLines(v: VersionChange): string[] {
  const facts = versionFacts(v.entry);
  const time = v.entry.metadata[META_LAST_MODIFIED] ?? new Date(v.lastModifiedMs).toISOString();
  const parts = [
    `${MARK[v.change]} ${v.keyPath}`,
    `${facts.deleteMarker ? 'delete-marker' : 'version'} ${v.versionId}`,
    time,
    ...(facts.deleteMarker ? [] : [formatBytes(v.entry.size)]),
    ...(facts.latest ? [v.change === 'version_removed' ? 'was latest' : 'latest'] : []),
    ...(v.change === 'version_changed' ? [`(${v.fields.join(', ')})`] : []),
  ];
  return [parts.join('  '), ...v.changes.map((m) => metadataChangeLine(m, '    '))];
}

/** One version change in -json: `ls -versions -json`'s fields of the version, and the change. */
export function versionChangeJson(v: VersionChange): JsonObject {
  const version = versionJson(v.entry);
  return {
    change: v.change,
    ...version,
    key_path: v.keyPath,
    version_id: v.versionId,
    last_modified: version.last_modified ?? new Date(v.lastModifiedMs).toISOString(),
    fields: [...v.fields],
    changes: v.changes.map(metadataChangeJson),
    before: v.before ? entryJson(v.before) : null,
    after: v.after ? entryJson(v.after) : null,
  };
}

/** One side of a diff: the snapshot, the path compared, and whether it is an S3 snapshot. */
export interface VersionedSide extends DiffSideRequest {
  readonly s3: boolean;
}

/** Where the versions of what is at `path` live: `/%%versions` + a folder's path, a key's directory. */
function versionsPathOf(path: string, type: string): string | undefined {
  return type === 'directory' ? `/${VERSIONS_DIR}${path}` : versionDirOfPath(path);
}

/**
 * The sides of the versions diff that follows a diff of PATHs of the plain tree of two S3 snapshots
 * (`diff A:/docs B:/docs` compares `/%%versions/docs` next; a key's path, its versions directory):
 * undefined when there is none to do (a root or versions-tree PATH, whose diff holds them already;
 * a snapshot not of the S3 source; no versions recorded at either side).
 */
export async function versionSides(
  store: OpenStore,
  a: VersionedSide,
  b: VersionedSide,
): Promise<[DiffSideRequest, DiffSideRequest] | undefined> {
  if (!a.s3 || !b.s3) return undefined;
  if ([a.path, b.path].some((p) => p === '/' || inVersionsTree(p))) return undefined;
  const [ea, eb] = await Promise.all([
    entryAt(store, a.snapshotId, a.path),
    entryAt(store, b.snapshotId, b.path),
  ]);
  // A key deleted (or a folder emptied) on one side is still the same kind of path there.
  const ta = ea?.type ?? eb?.type;
  const tb = eb?.type ?? ea?.type;
  if (ta === undefined || tb === undefined) return undefined;
  const va = versionsPathOf(a.path, ta);
  const vb = versionsPathOf(b.path, tb);
  if (va === undefined || vb === undefined) return undefined;
  const [da, db] = await Promise.all([entryAt(store, a.snapshotId, va), entryAt(store, b.snapshotId, vb)]);
  if (da?.type !== 'directory' && db?.type !== 'directory') return undefined;
  return [
    { snapshotId: a.snapshotId, path: va },
    { snapshotId: b.snapshotId, path: vb },
  ];
}
