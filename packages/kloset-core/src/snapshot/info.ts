/** `info`: what a store holds, and what one snapshot holds. */

import { toHex } from '../encoding/bytes.ts';
import type { BlobStore } from '../repository/blob-store.ts';
import type { ResourceStore } from '../repository/resource-store.ts';
import type { SnapshotHeader } from './header.ts';
import { listSnapshots, resolveSnapshot, type SnapshotRef } from './snapshots.ts';
import { TreeReader } from './tree-reader.ts';

/** A snapshot's header and tree shape. */
export interface SnapshotInfo {
  readonly header: SnapshotHeader;
  /** Entries in the tree (from the root node's counts). */
  readonly entries: number;
  /** Levels of the tree (1: the root is a leaf). */
  readonly treeHeight: number;
}

/** The header and tree shape of one snapshot. */
export async function snapshotInfo(
  repo: BlobStore & ResourceStore,
  snapshot: SnapshotRef | SnapshotHeader,
): Promise<SnapshotInfo> {
  const header = typeof snapshot === 'string' ? await resolveSnapshot(repo, snapshot) : snapshot;
  const reader = new TreeReader(repo, header.root, { label: `snapshot ${toHex(header.id).slice(0, 8)}` });
  let node = await reader.node(header.root);
  const entries = node.leaf ? node.entries.length : node.counts.reduce((a, b) => a + b, 0);
  let height = 1;
  while (!node.leaf) {
    height++;
    node = await reader.node(node.children[0]!);
  }
  return { header, entries, treeHeight: height };
}

/** What the engines can tell about a store without reading content. */
export interface StoreContents {
  readonly snapshots: number;
  /** Snapshots whose header could not be read. */
  readonly unreadableSnapshots: number;
  /** The oldest and newest snapshot times (Unix ms), when there are snapshots. */
  readonly first?: number;
  readonly last?: number;
  /** Sum of the snapshots' content sizes (before dedup). */
  readonly snapshotBytes: number;
  /** Packfiles in storage and their total size (what the store occupies, besides small resources). */
  readonly packfiles: number;
  readonly packfileBytes: number;
}

/** Counts the snapshots and packfiles of a store. */
export async function storeContents(
  repo: ResourceStore & { listPackfiles(): AsyncIterable<{ readonly size: number }> },
): Promise<StoreContents> {
  let unreadable = 0;
  const snaps = await listSnapshots(repo, () => {
    unreadable++;
  });
  let packfiles = 0;
  let packfileBytes = 0;
  for await (const p of repo.listPackfiles()) {
    packfiles++;
    packfileBytes += p.size;
  }
  return {
    snapshots: snaps.length,
    unreadableSnapshots: unreadable,
    ...(snaps.length > 0 ? { first: snaps[0]!.time, last: snaps[snaps.length - 1]!.time } : {}),
    snapshotBytes: snaps.reduce((a, s) => a + s.summary.bytes, 0),
    packfiles,
    packfileBytes,
  };
}
