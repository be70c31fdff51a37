/** `ls SNAPSHOT:PATH`: the entry at a path of a snapshot, then its listing. */
import type { EntryPath } from '@kloset/connector-contract';
import { toHex } from '../encoding/bytes.ts';
import type { BlobStore } from '../repository/blob-store.ts';
import type { ResourceStore } from '../repository/resource-store.ts';
import type { SnapshotEntry } from './entry.ts';
import type { SnapshotHeader } from './header.ts';
import { resolveSnapshot, type SnapshotRef } from './snapshots.ts';
import { TreeReader } from './tree-reader.ts';

/** A path does not exist in a snapshot. */
export class SnapshotPathNotFoundError extends Error {
  override readonly name = 'SnapshotPathNotFoundError';
}

export interface ListPathOptions {
  /** The whole sub-tree below a directory (in key order: each directory before its children). */
  readonly recursive?: boolean;
}

/**
 * Yields the entries at `path` (a file and a directory may share one; usually one entry), then,
 * for a directory, its children in key order (or its whole sub-tree with `recursive`). Throws
 * SnapshotPathNotFoundError when nothing is at `path`.
 */
export async function* listPath(
  repo: BlobStore & ResourceStore,
  snapshot: SnapshotRef | SnapshotHeader,
  path: EntryPath = '/',
  options: ListPathOptions = {},
): AsyncGenerator<SnapshotEntry> {
  const header = typeof snapshot === 'string' ? await resolveSnapshot(repo, snapshot) : snapshot;
  const label = `snapshot ${toHex(header.id).slice(0, 8)}`;
  const reader = new TreeReader(repo, header.root, { label });
  const found = await reader.find(path);
  if (found.length === 0) throw new SnapshotPathNotFoundError(`${path} not found in ${label}`);
  yield* found;
  if (!found.some((e) => e.type === 'directory')) return;
  yield* options.recursive === true ? reader.subtree(path) : reader.children(path);
}
