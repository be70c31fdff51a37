/**
 * What `restore` writes to restore every version of every key of a snapshot taken with the S3
 * source's `versions=all` (docs/FORMAT.md §8.4) into a destination that keeps versions: one scan
 * of the versions tree in key order; for each key's directory (its versions newest first by
 * name), its versions oldest first, each at the key's plain path as `restore -at` writes a version
 * (versions-tree.ts: content, headers, user metadata, tags, the plain tree's `meta`), a delete
 * marker as a removal of that path. The folders above a key are written before its first version,
 * each once.
 *
 * Memory: the scan keeps the names of the versions of the one key being read (about 40 bytes of
 * name per version, some 100 bytes with the string and array overhead: 1 MB for a key with 10,000
 * versions); each version is then read again by its path (one descent through the reader's node
 * cache) from the oldest to the newest. Nothing is kept from one key to the next but the chain of
 * folders written last: memory does not grow with the number of keys.
 */
import { baseName, type EntryPath, parentPath } from '@kloset/connector-contract';
import type { SnapshotEntry } from '../snapshot/entry.ts';
import type { TreeReader } from '../snapshot/tree-reader.ts';
import type { VersionsTree } from './restore-options.ts';
import {
  asPlain,
  FolderChain,
  isDeleteMarker,
  isLatest,
  lastModified,
  type Planned,
  versionsTop,
} from './versions-tree.ts';

/** The entry names of one key's versions, newest first, as its directory lists them. */
class KeyVersions {
  readonly names: string[] = [];
  /** The index of the version listed as the latest (`s3.is-latest`), if any. */
  #latest = -1;

  add(e: SnapshotEntry): void {
    if (isLatest(e)) this.#latest = this.names.length;
    this.names.push(baseName(e.path));
  }

  /**
   * The indexes of the versions oldest first. Names sort by LastModified in milliseconds, then by
   * version id: among versions of the same millisecond the order by id is arbitrary, so the one
   * listed as the latest, when it is among the newest, is written last.
   */
  *oldestFirst(): Generator<number> {
    const names = this.names;
    const latest = this.#latest;
    const tied = latest > 0 && names[latest]!.slice(0, 13) === names[0]!.slice(0, 13);
    for (let i = names.length - 1; i >= 0; i--) if (!tied || i !== latest) yield i;
    if (tied) yield latest;
  }
}

/** The versions of the key directory `keyDir` oldest first, as writes (and removes) of `target`. */
async function* versionsOldestFirst(
  reader: TreeReader,
  keyDir: EntryPath,
  versions: KeyVersions,
  target: EntryPath,
): AsyncGenerator<Planned> {
  for (const i of versions.oldestFirst()) {
    const path = `${keyDir}/${versions.names[i]!}`;
    const entry = await reader.get(path, 'file');
    if (entry === undefined) throw new Error(`${path}: listed in the snapshot's tree, then not found in it`);
    yield isDeleteMarker(entry)
      ? { entry: asPlain(entry), target, remove: true }
      : { entry: asPlain(entry), target };
  }
}

/** True for a version entry of a key's directory (not a folder's entry). */
function isVersion(e: SnapshotEntry, tree: VersionsTree): boolean {
  return (
    e.type === 'file' &&
    lastModified(e) !== undefined &&
    tree.keyName(baseName(parentPath(e.path))) !== undefined
  );
}

/**
 * The entries to write (and remove) to restore every version of `path` of the plain tree (`/`, a
 * folder, or a key), in write order, mapped to destination paths as a restore of `path` maps them:
 * a folder is restored as the destination's root, a key as `/<its name>`.
 */
export async function* planAllVersions(
  reader: TreeReader,
  path: EntryPath,
  tree: VersionsTree,
  snapshotLabel: string,
): AsyncGenerator<Planned> {
  const found = await versionsTop(reader, path, tree, snapshotLabel);
  if (found.kind === 'key') {
    if (found.parent !== undefined) yield { entry: found.parent, target: '/' };
    const versions = new KeyVersions();
    for await (const e of reader.subtree(found.keyDir)) if (isVersion(e, tree)) versions.add(e);
    yield* versionsOldestFirst(reader, found.keyDir, versions, `/${found.file}`);
    return;
  }
  const { folder, top } = found;
  yield { entry: folder, target: '/' };
  const folders = new FolderChain(reader, top);
  let keyDir: EntryPath | undefined;
  let versions = new KeyVersions();
  const flush = async function* (dir: EntryPath): AsyncGenerator<Planned> {
    yield* folders.above(dir);
    const target = await folders.fileTarget(dir, tree.keyName(baseName(dir))!);
    yield* versionsOldestFirst(reader, dir, versions, target);
  };
  for await (const e of reader.subtree(top)) {
    if (!isVersion(e, tree)) continue;
    const dir = parentPath(e.path);
    if (dir !== keyDir) {
      if (keyDir !== undefined) yield* flush(keyDir);
      keyDir = dir;
      versions = new KeyVersions();
    }
    versions.add(e);
  }
  if (keyDir !== undefined) yield* flush(keyDir);
}

/**
 * How many entries (folders, versions, delete markers) and content bytes a restore of every
 * version of `path` covers, for progress: one pass over the names of the sub-tree, no content.
 */
export async function allVersionsTotals(
  reader: TreeReader,
  path: EntryPath,
  tree: VersionsTree,
  snapshotLabel: string,
): Promise<{ entries: number; bytes: number }> {
  const found = await versionsTop(reader, path, tree, snapshotLabel);
  let entries = 1;
  let bytes = 0;
  for await (const e of reader.subtree(found.kind === 'key' ? found.keyDir : found.top)) {
    entries++;
    if (e.type === 'file' && e.error === undefined) bytes += e.size;
  }
  return { entries, bytes };
}
