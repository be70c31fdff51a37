/**
 * What the restores of a versions tree (docs/FORMAT.md §8.4) share: `restore -at` (versions-at.ts)
 * and the restore of every version (all-versions.ts). How a version entry is written at its key's
 * plain path, under which name, and the folders written above the keys, each once.
 */
import { baseName, type EntryMetadata, type EntryPath, parentPath } from '@kloset/connector-contract';
import type { SnapshotEntry } from '../snapshot/entry.ts';
import { SnapshotPathNotFoundError } from '../snapshot/list-path.ts';
import type { TreeReader } from '../snapshot/tree-reader.ts';
import type { VersionsTree } from './restore-options.ts';

/** An entry to write and the path the destination gets. */
export interface Planned {
  readonly entry: SnapshotEntry;
  readonly target: EntryPath;
  /**
   * A delete marker (restore of every version): the engine removes what is at `target`
   * (Destination.remove) instead of writing `entry`.
   */
  readonly remove?: boolean;
}

const LAST_MODIFIED = 's3.last-modified';
const DELETE_MARKER = 's3.delete-marker';
const IS_LATEST = 's3.is-latest';
/** The keys of a version's `meta` that the plain tree's entry of the same version does not have. */
const VERSION_ONLY = new Set([LAST_MODIFIED, DELETE_MARKER, IS_LATEST]);

/** A version entry as the plain tree records the same version. */
export function asPlain(e: SnapshotEntry): SnapshotEntry {
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(e.metadata)) if (!VERSION_ONLY.has(k)) metadata[k] = v;
  return { ...e, metadata: metadata as EntryMetadata };
}

/** LastModified of a version entry (Unix ms), undefined for an entry that is not a version. */
export function lastModified(e: SnapshotEntry): number | undefined {
  const text = e.metadata[LAST_MODIFIED];
  const ms = text === undefined ? Number.NaN : Date.parse(text);
  return e.type === 'file' && Number.isFinite(ms) ? ms : undefined;
}

export const isDeleteMarker = (e: SnapshotEntry): boolean => e.metadata[DELETE_MARKER] === 'true';

export const isLatest = (e: SnapshotEntry): boolean => e.metadata[IS_LATEST] === 'true';

/**
 * The name a version of the key whose versions directory is `keyDir` is written as: the key's
 * plain-tree name, or, when a folder of that name is in the versions tree too (key `a` next to
 * keys `a/...`), the directory's own file-twin name, as the plain tree names such a file.
 */
export async function fileName(reader: TreeReader, keyDir: EntryPath, name: string): Promise<string> {
  const folder = await reader.get(`${parentPath(keyDir)}/${name}`, 'directory');
  return folder === undefined ? name : baseName(keyDir);
}

/** What a plain-tree PATH is in the versions tree: one key's directory, or a folder. */
export type VersionsTop =
  | {
      readonly kind: 'key';
      readonly keyDir: EntryPath;
      /** The key's parent folder (written as the destination's root), if the tree has it. */
      readonly parent: SnapshotEntry | undefined;
      /** The name the key's versions are written as, at `/<file>`. */
      readonly file: string;
    }
  | { readonly kind: 'folder'; readonly folder: SnapshotEntry; readonly top: EntryPath };

/**
 * Where the versions of plain-tree `path` (`/`, a folder, or a key) are: a folder of the versions
 * tree (restored as the destination's root), or one key's directory (its versions restored as
 * `/<name>`). Throws SnapshotPathNotFoundError when it is neither.
 */
export async function versionsTop(
  reader: TreeReader,
  path: EntryPath,
  tree: VersionsTree,
  snapshotLabel: string,
): Promise<VersionsTop> {
  const top = path === '/' ? tree.root : `${tree.root}${path}`;
  const folder = await reader.get(top, 'directory');
  if (folder !== undefined && (path === '/' || tree.keyName(baseName(top)) === undefined)) {
    return { kind: 'folder', folder, top };
  }
  const keyDir = path === '/' ? undefined : tree.keyDir(path);
  const dir = keyDir === undefined ? undefined : await reader.get(keyDir, 'directory');
  const name = keyDir === undefined ? undefined : tree.keyName(baseName(keyDir));
  if (keyDir === undefined || dir === undefined || name === undefined) {
    throw new SnapshotPathNotFoundError(`${path} has no versions in ${snapshotLabel}`);
  }
  const parent = await reader.get(parentPath(keyDir), 'directory');
  return { kind: 'key', keyDir, parent, file: await fileName(reader, keyDir, name) };
}

/**
 * The folders written while a folder `top` of the versions tree is restored: above each key
 * written, the folders between `top` and the key's directory that are not written yet, each once.
 * A sub-tree is one contiguous range of a scan in key order, so the chain of folders written last
 * is all it keeps.
 */
export class FolderChain {
  readonly #reader: TreeReader;
  readonly #top: EntryPath;
  /** The directories (versions-tree paths) written last, from `top`'s child down. */
  #written: EntryPath[] = [];

  constructor(reader: TreeReader, top: EntryPath) {
    this.#reader = reader;
    this.#top = top;
  }

  /** The destination path of versions-tree path `p` (below `top`). */
  targetOf(p: EntryPath): EntryPath {
    return p.slice(this.#top.length) || '/';
  }

  /** The folders to write above the key directory `keyDir`, outermost first. */
  async *above(keyDir: EntryPath): AsyncGenerator<Planned> {
    const top = this.#top;
    const chain: EntryPath[] = [];
    for (let d = parentPath(keyDir); d !== top && d.length > top.length; d = parentPath(d)) chain.unshift(d);
    const written = this.#written;
    let same = 0;
    while (same < chain.length && same < written.length && chain[same] === written[same]) same++;
    this.#written = chain;
    for (const d of chain.slice(same)) {
      const dir = await this.#reader.get(d, 'directory');
      if (dir !== undefined) yield { entry: dir, target: this.targetOf(d) };
    }
  }

  /** The destination path a version of the key directory `keyDir` (named `name`) is written at. */
  async fileTarget(keyDir: EntryPath, name: string): Promise<EntryPath> {
    const parentTarget = this.targetOf(parentPath(keyDir));
    const file = await fileName(this.#reader, keyDir, name);
    return `${parentTarget === '/' ? '' : parentTarget}/${file}`;
  }
}
