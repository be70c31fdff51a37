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
import { baseName, type EntryMetadata, type EntryPath, parentPath } from '@kloset/connector-contract';
import type { SnapshotEntry } from '../snapshot/entry.ts';
import { subtreePrefix } from '../snapshot/entry-key.ts';
import { SnapshotPathNotFoundError } from '../snapshot/list-path.ts';
import type { TreeReader } from '../snapshot/tree-reader.ts';
import type { VersionsAt } from './restore-options.ts';

/** An entry to write and the path the destination gets. */
export interface Planned {
  readonly entry: SnapshotEntry;
  readonly target: EntryPath;
}

const LAST_MODIFIED = 's3.last-modified';
const DELETE_MARKER = 's3.delete-marker';
/** The keys of a version's `meta` that the plain tree's entry of the same version does not have. */
const VERSION_ONLY = new Set([LAST_MODIFIED, DELETE_MARKER, 's3.is-latest']);

/** A version entry as the plain tree records the same version. */
function asPlain(e: SnapshotEntry): SnapshotEntry {
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(e.metadata)) if (!VERSION_ONLY.has(k)) metadata[k] = v;
  return { ...e, metadata: metadata as EntryMetadata };
}

/** LastModified of a version entry (Unix ms), undefined for an entry that is not a version. */
function lastModified(e: SnapshotEntry): number | undefined {
  const text = e.metadata[LAST_MODIFIED];
  const ms = text === undefined ? Number.NaN : Date.parse(text);
  return e.type === 'file' && Number.isFinite(ms) ? ms : undefined;
}

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

/**
 * The name a chosen version of the key whose versions directory is `keyDir` is written as: the
 * key's plain-tree name, or, when a folder of that name is in the versions tree too (key `a` next
 * to keys `a/...`), the directory's own file-twin name, as the plain tree names such a file.
 */
async function fileName(reader: TreeReader, keyDir: EntryPath, name: string): Promise<string> {
  const folder = await reader.get(`${parentPath(keyDir)}/${name}`, 'directory');
  return folder === undefined ? name : baseName(keyDir);
}

const isDeleteMarker = (e: SnapshotEntry): boolean => e.metadata[DELETE_MARKER] === 'true';

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
  const top = path === '/' ? at.root : `${at.root}${path}`;
  const folder = await reader.get(top, 'directory');
  if (folder === undefined || (path !== '/' && at.keyName(baseName(top)) !== undefined)) {
    // Not a folder: the versions of the key at `path`.
    const keyDir = path === '/' ? undefined : at.keyDir(path);
    const dir = keyDir === undefined ? undefined : await reader.get(keyDir, 'directory');
    const name = keyDir === undefined ? undefined : at.keyName(baseName(keyDir));
    if (keyDir === undefined || dir === undefined || name === undefined) {
      throw new SnapshotPathNotFoundError(`${path} has no versions in ${snapshotLabel}`);
    }
    const parent = await reader.get(parentPath(keyDir), 'directory');
    const chosen = await versionAt(reader, keyDir, at.time);
    if (parent !== undefined) yield { entry: parent, target: '/' };
    if (chosen !== undefined && !isDeleteMarker(chosen)) {
      yield { entry: asPlain(chosen), target: `/${await fileName(reader, keyDir, name)}` };
    }
    return;
  }
  yield { entry: folder, target: '/' };
  const cut = top.length;
  const targetOf = (p: EntryPath): EntryPath => p.slice(cut) || '/';
  /** The directories (versions-tree paths) written last, from `top`'s child down. */
  let written: EntryPath[] = [];
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
    // The folders between `top` and the key's directory that are not written yet.
    const chain: EntryPath[] = [];
    for (let d = parentPath(keyDir); d !== top && d.length > cut; d = parentPath(d)) chain.unshift(d);
    let same = 0;
    while (same < chain.length && same < written.length && chain[same] === written[same]) same++;
    for (const d of chain.slice(same)) {
      const dir = await reader.get(d, 'directory');
      if (dir !== undefined) yield { entry: dir, target: targetOf(d) };
    }
    written = chain;
    const parentTarget = targetOf(parentPath(keyDir));
    const file = await fileName(reader, keyDir, name);
    yield { entry: asPlain(e), target: `${parentTarget === '/' ? '' : parentTarget}/${file}` };
  }
}
