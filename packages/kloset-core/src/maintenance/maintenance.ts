/**
 * `maintenance`: deletes the packfiles no snapshot references (FORMAT.md §10), under an exclusive
 * lock, after a grace period.
 *
 * 1. Take the exclusive lock, then bring the index up to date (states written before the lock).
 * 2. Mark: walk the tree of every snapshot, recording every tree node and chunk it references
 *    (on disk, mark-set.ts; a sub-tree already walked is skipped). Any snapshot or tree node that
 *    cannot be read stops maintenance: what it references would be unknown.
 * 3. Sweep, choosing the packfiles to delete:
 *    - indexed packfiles none of whose blobs is marked, when the newest state listing them is
 *      older than the grace period;
 *    - packfiles in storage that no state lists (left by a writer that died or is still running
 *      with a stale lock), when the storage's modification time is older than the grace period;
 *      without such a time they are kept;
 *    - packfiles a state already lists as deleted (an earlier run stopped before deleting them).
 *    Packfiles with some marked blobs are kept whole; their unmarked bytes are reported as
 *    reclaimable (no repacking).
 * 4. Check the lock is still ours and alone, write states listing the chosen packfiles in
 *    `deleted_packfiles` (durable, and applied to the index), and only then delete the packfiles.
 *
 * Order (step 4) and crash safety: once the deletion state is durable, every reader's index drops
 * those packfiles and no new snapshot can reference their blobs; a crash before the state changes
 * nothing; a crash after it leaves packfiles that the next run deletes (they are listed as
 * deleted). The other order could leave an index pointing into deleted packfiles, and backups
 * deduplicating against blobs that no longer exist.
 */

import { walkTree } from '../check/tree-walk.ts';
import { toHex } from '../encoding/bytes.ts';
import { BlobKind, type BlobLocation, type BlobStore } from '../repository/blob-store.ts';
import {
  acquireLock,
  isStale,
  LOCK_STALE_AFTER_MS,
  LockConflictError,
  listLocks,
} from '../repository/locks.ts';
import type { PackfileInfo, PackfileStatus } from '../repository/repository.ts';
import type { ResourceStore } from '../repository/resource-store.ts';
import { STATE_MAX_BLOBS } from '../repository/state-codec.ts';
import { TaskPool } from '../repository/task-pool.ts';
import { readSnapshots } from '../snapshot/snapshots.ts';
import { errorMessage } from '../snapshot/tree-reader.ts';
import { MarkSet } from './mark-set.ts';

/** The default grace period: packfiles younger than this are never deleted. */
export const DEFAULT_GRACE_MS = 24 * 60 * 60 * 1000;

/** What maintenance needs of a repository (Repository implements it). */
export interface MaintenanceRepository extends ResourceStore, Pick<BlobStore, 'getBlob'> {
  refreshIndex(): Promise<unknown>;
  listPackfiles(): AsyncIterable<PackfileInfo>;
  indexedPackfiles(): Iterable<Uint8Array>;
  indexedBlobs(packId: Uint8Array): readonly BlobLocation[];
  packfileStatus(packId: Uint8Array): PackfileStatus | undefined;
  writeDeletions(packIds: readonly Uint8Array[]): Promise<number>;
  deletePackfile(packId: Uint8Array): Promise<void>;
}

export interface MaintenanceOptions {
  /** Packfiles younger than this are kept (default 24 h). */
  readonly graceMs?: number;
  /** Decide and report, change nothing (takes no lock). */
  readonly dryRun?: boolean;
  /** Clock (Unix ms), default Date.now. */
  readonly now?: () => number;
  /** Tree nodes read at once while marking (default 8). */
  readonly concurrency?: number;
  /** Packfile deletions at once (default 8). */
  readonly deleteConcurrency?: number;
  /** Where the scratch database goes (default: the OS temporary directory). */
  readonly tempDir?: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: MaintenanceProgress) => void;
  /** Lock behaviour overrides (tests). */
  readonly lock?: { readonly staleAfterMs?: number; readonly refreshIntervalMs?: number };
}

export interface MaintenanceProgress {
  readonly phase: 'mark' | 'sweep' | 'delete';
  readonly snapshots: number;
  /** Tree nodes read (mark), packfiles looked at (sweep) or deleted (delete). */
  readonly done: number;
}

/** At most this many deleted packfile ids are listed in the result (the counts are exact). */
export const MAX_LISTED_PACKFILES = 1000;

export interface MaintenanceResult {
  readonly dryRun: boolean;
  readonly graceMs: number;
  readonly snapshots: number;
  /** Distinct tree nodes and chunks the snapshots reference. */
  readonly treeNodes: number;
  readonly chunks: number;
  /** Packfiles in storage, and their bytes. */
  readonly packfiles: number;
  readonly packfileBytes: number;
  /** Packfiles deleted (with dryRun: that would be), and their bytes. */
  readonly deleted: number;
  readonly deletedBytes: number;
  /** Of those, deletions an earlier run recorded but did not finish. */
  readonly unfinished: number;
  /** Unreferenced packfiles kept because they are younger than the grace period. */
  readonly keptRecent: number;
  readonly keptRecentBytes: number;
  /** Packfiles no state lists, kept because the storage gives no time for them. */
  readonly keptUnknownAge: number;
  /** Packfiles partly referenced (kept), and the unreferenced bytes inside them. */
  readonly partial: number;
  readonly reclaimableBytes: number;
  /** Deletion states written. */
  readonly states: number;
  /** Hex ids of the deleted packfiles (the first MAX_LISTED_PACKFILES). */
  readonly deletedIds: readonly string[];
}

/** Maintenance cannot know what the snapshots reference: nothing is deleted. */
export class MaintenanceRefusedError extends Error {
  override readonly name = 'MaintenanceRefusedError';
}

/** Fails when another non-stale lock than ours exists (ours went stale at some point). */
async function assertAlone(repo: ResourceStore, ours: string, staleAfterMs: number): Promise<void> {
  const now = Date.now();
  for await (const other of listLocks(repo)) {
    if (other.id === ours || isStale(other, now, staleAfterMs)) continue;
    throw new LockConflictError('exclusive', other, now);
  }
}

/** Runs maintenance on `repo` (see the module comment). */
export async function maintenance(
  repo: MaintenanceRepository,
  options: MaintenanceOptions = {},
): Promise<MaintenanceResult> {
  const signal = options.signal;
  signal?.throwIfAborted();
  const now = options.now ?? Date.now;
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
  const dryRun = options.dryRun ?? false;
  const staleAfterMs = options.lock?.staleAfterMs ?? LOCK_STALE_AFTER_MS;
  const lock = dryRun ? undefined : await acquireLock(repo, { exclusive: true, ...options.lock });
  const marks = MarkSet.open(options.tempDir);
  const counts = {
    snapshots: 0,
    treeNodes: 0,
    chunks: 0,
    packfiles: 0,
    packfileBytes: 0,
    deleted: 0,
    deletedBytes: 0,
    unfinished: 0,
    keptRecent: 0,
    keptRecentBytes: 0,
    keptUnknownAge: 0,
    partial: 0,
    reclaimableBytes: 0,
    states: 0,
  };
  const deletedIds: string[] = [];
  const progress = (phase: MaintenanceProgress['phase'], done: number) =>
    options.onProgress?.({ phase, snapshots: counts.snapshots, done });
  try {
    await repo.refreshIndex();

    // Mark.
    for await (const r of readSnapshots(repo)) {
      signal?.throwIfAborted();
      if (!r.ok) {
        throw new MaintenanceRefusedError(
          `maintenance stopped, nothing deleted: snapshot ${r.id} cannot be read (${r.error}); run check`,
        );
      }
      counts.snapshots++;
      const label = `snapshot ${r.id.slice(0, 8)}`;
      await walkTree(
        repo,
        r.header.root,
        {
          skip: (id) => !marks.mark(BlobKind.Tree, id),
          node: () => {
            counts.treeNodes++;
            if (counts.treeNodes % 1000 === 0) progress('mark', counts.treeNodes);
          },
          leaf: (entries) =>
            marks.batch(() => {
              for (const e of entries) {
                for (const c of e.chunks) if (marks.mark(BlobKind.Chunk, c.id)) counts.chunks++;
              }
            }),
          unreadable: (id, firstPath, err) => {
            throw new MaintenanceRefusedError(
              `maintenance stopped, nothing deleted: ${label}: tree node ${toHex(id)}` +
                `${firstPath === undefined ? '' : ` (entries from ${firstPath})`} cannot be read: ` +
                `${errorMessage(err)}; run check`,
            );
          },
        },
        options.concurrency ?? 8,
        signal,
      );
    }

    // Sweep: the indexed packfiles.
    const nowMs = now();
    const old = (ms: number) => nowMs - ms >= graceMs;
    let looked = 0;
    for (const packId of repo.indexedPackfiles()) {
      if (++looked % 1000 === 0) {
        signal?.throwIfAborted();
        progress('sweep', looked);
      }
      const blobs = repo.indexedBlobs(packId);
      let unmarkedBytes = 0;
      let marked = 0;
      for (const b of blobs) {
        if (marks.isMarked(b.kind, b.id)) marked++;
        else unmarkedBytes += b.length;
      }
      if (marked > 0) {
        if (marked < blobs.length) {
          counts.partial++;
          counts.reclaimableBytes += unmarkedBytes;
        }
        continue;
      }
      const status = repo.packfileStatus(packId);
      if (status?.time !== undefined && old(status.time * 1000)) marks.doom(packId, status.size);
      else {
        counts.keptRecent++;
        counts.keptRecentBytes += status?.size ?? 0;
      }
    }
    // Sweep: what storage holds.
    for await (const p of repo.listPackfiles()) {
      counts.packfiles++;
      counts.packfileBytes += p.size;
      const status = repo.packfileStatus(p.id);
      if (status?.deleted === true) {
        counts.unfinished++;
        marks.doom(p.id, p.size);
      } else if (status === undefined) {
        if (p.modified === undefined) counts.keptUnknownAge++;
        else if (old(p.modified)) marks.doom(p.id, p.size);
        else {
          counts.keptRecent++;
          counts.keptRecentBytes += p.size;
        }
      } else if (marks.isDoomed(p.id)) marks.doom(p.id, p.size); // the listed size
    }

    // Delete: the deletion states first, then the packfiles.
    const pool = new TaskPool(options.deleteConcurrency ?? 8, 'packfile deletion');
    for (const page of marks.doomed(STATE_MAX_BLOBS)) {
      signal?.throwIfAborted();
      if (lock !== undefined) {
        await lock.refresh();
        await assertAlone(repo, lock.id, staleAfterMs);
        counts.states += await repo.writeDeletions(page.map((p) => p.id));
      }
      for (const p of page) {
        counts.deleted++;
        counts.deletedBytes += p.size ?? 0;
        if (deletedIds.length < MAX_LISTED_PACKFILES) deletedIds.push(toHex(p.id));
        if (lock === undefined) continue;
        await pool.run(async () => {
          await repo.deletePackfile(p.id);
        });
        if (counts.deleted % 100 === 0) progress('delete', counts.deleted);
      }
      await pool.drain();
    }
    return { dryRun, graceMs, ...counts, deletedIds };
  } finally {
    marks.close();
    await lock?.release().catch(() => undefined);
  }
}
