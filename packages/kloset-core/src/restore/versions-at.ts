/**
 * What `restore` writes for an instant of a snapshot taken with the S3 source's `versions=all`
 * (docs/FORMAT.md §8.4, "Finding the version of a key at a time T"): one scan of the versions
 * tree in key order; in each key's directory (its versions newest first) the first entry last
 * modified at or before the instant is chosen and the scan goes on after that directory. A chosen
 * version is written at its key's own path (an object version with the `meta` the plain tree would
 * have), a chosen delete marker (or no entry) writes nothing. Directories are written only above a
 * chosen version, each once: a sub-tree is one contiguous range of the scan, so the chain of
 * directories written last is all the state kept (memory does not grow with keys or versions).
 */
import { baseName, type EntryPath, parentPath } from '@kloset/connector-contract';
import type { SnapshotEntry } from '../snapshot/entry.ts';
import { subtreePrefix } from '../snapshot/entry-key.ts';
import type { TreeReader } from '../snapshot/tree-reader.ts';
import type { VersionsAt } from './restore-options.ts';
import {
  asPlain,
  FolderChain,
  isDeleteMarker,
  lastModified,
  type Planned,
  versionsTop,
} from './versions-tree.ts';

export type { Planned } from './versions-tree.ts';

/** The version of one key's directory at `time`: its first (newest) entry at or before it. */
async function versionAt(
  reader: TreeReader,
  keyDir: EntryPath,
  time: number,
): Promise<SnapshotEntry | undefined> {
  for await (const e of reader.subtree(keyDir)) {
    const t = lastModified(e);
    if (t !== undefined && t <= time) return e;
  }
  return undefined;
}

/** The least sort key after every entry below the directory `dir`: its sub-tree prefix, last byte + 1. */
function after(dir: EntryPath): Buffer {
  const key = subtreePrefix(dir);
  key[key.length - 1] = key[key.length - 1]! + 1;
  return key;
}

/**
 * The entries below `top` in key order, a key's directory left as soon as its version is chosen:
 * `skip(dir)` makes the scan go on after the sub-tree of `dir` (one descent from the root, through
 * the reader's node cache), so the older versions of a key are not even read from the tree.
 */
async function* scanSkipping(
  reader: TreeReader,
  top: EntryPath,
  skipped: () => EntryPath | undefined,
): AsyncGenerator<SnapshotEntry> {
  const within = subtreePrefix(top);
  let from = within;
  let jumped = true;
  while (jumped) {
    jumped = false;
    for await (const { entry } of reader.scan(from, within)) {
      const skip = skipped();
      if (skip !== undefined && parentPath(entry.path) === skip) {
        from = after(skip);
        jumped = true;
        break;
      }
      yield entry;
    }
  }
}

/**
 * The entries to restore for `path` of the plain tree (`/`, a folder, or a key) at `at.time`, in
 * write order, mapped to destination paths as a restore of `path` maps them: a folder is restored
 * as the destination's root, a key as `/<its name>`.
 */
export async function* planVersionsAt(
  reader: TreeReader,
  path: EntryPath,
  at: VersionsAt,
  snapshotLabel: string,
): AsyncGenerator<Planned> {
  const found = await versionsTop(reader, path, at, snapshotLabel);
  if (found.kind === 'key') {
    const chosen = await versionAt(reader, found.keyDir, at.time);
    if (found.parent !== undefined) yield { entry: found.parent, target: '/' };
    if (chosen !== undefined && !isDeleteMarker(chosen)) {
      yield { entry: asPlain(chosen), target: `/${found.file}` };
    }
    return;
  }
  const { folder, top } = found;
  yield { entry: folder, target: '/' };
  const folders = new FolderChain(reader, top);
  /** The key directory whose version is decided: its other versions are skipped. */
  let decided: EntryPath | undefined;
  for await (const e of scanSkipping(reader, top, () => decided)) {
    if (e.type !== 'file') continue;
    const keyDir = parentPath(e.path);
    const name = at.keyName(baseName(keyDir));
    const t = lastModified(e);
    if (name === undefined || t === undefined || t > at.time) continue;
    decided = keyDir;
    if (isDeleteMarker(e)) continue;
    yield* folders.above(keyDir);
    yield { entry: asPlain(e), target: await folders.fileTarget(keyDir, name) };
  }
}
