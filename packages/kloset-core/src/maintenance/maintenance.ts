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
 *    - packfiles a state already lists as deleted (an earlier run stopped before deleting them);
 *    - packfiles with some marked blobs, when at least `repackPercent` % of their bytes are
 *      unmarked and they are older than the grace period: their marked blobs are first copied
 *      into new packfiles (repack.ts). Other partly marked packfiles are kept whole; their
 *      unmarked bytes are reported as reclaimable.
 * 4. Repack, and flush: the new packfiles and the state listing them are durable.
 * 5. Check the lock is still ours and alone, write states listing the chosen packfiles in
 *    `deleted_packfiles` (durable, and applied to the index), and only then delete the packfiles.
 * 6. Have the storage remove the leftovers of interrupted writes older than the grace period
 *    (`Storage.removeLeftovers`: temporary files, incomplete multipart uploads), if it can.
 *
 * Order (step 4) and crash safety: once the deletion state is durable, every reader's index drops
 * those packfiles and no new snapshot can reference their blobs; a crash before the state changes
 * nothing; a crash after it leaves packfiles that the next run deletes (they are listed as
 * deleted). The other order could leave an index pointing into deleted packfiles, and backups
 * deduplicating against blobs that no longer exist.
 */

import { walkTree } from '../check/tree-walk.ts';
import { toHex } from '../encoding/bytes.ts';
import { BlobKind } from '../repository/blob-store.ts';
import {
  acquireLock,
  isStale,
  LOCK_STALE_AFTER_MS,
  LockConflictError,
  listLocks,
} from '../repository/locks.ts';
import type { ResourceStore } from '../repository/resource-store.ts';
import { STATE_MAX_BLOBS } from '../repository/state-codec.ts';
import { TaskPool } from '../repository/task-pool.ts';
import { readSnapshots } from '../snapshot/snapshots.ts';
import { errorMessage } from '../snapshot/tree-reader.ts';
import {
  DEFAULT_GRACE_MS,
  DEFAULT_REPACK_PERCENT,
  MAX_LISTED_PACKFILES,
  type MaintenanceOptions,
  type MaintenanceProgress,
  MaintenanceRefusedError,
  type MaintenanceRepository,
  type MaintenanceResult,
} from './maintenance-options.ts';
import { MarkSet } from './mark-set.ts';
import { repackPackfile } from './repack.ts';

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
  const repackPercent = options.repackPercent ?? DEFAULT_REPACK_PERCENT;
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
    repacked: 0,
    repackedBytes: 0,
    states: 0,
  };
  const deletedIds: string[] = [];
  const progress = (phase: MaintenanceProgress['phase'], done: number) =>
    options.onProgress?.({ phase, snapshots: counts.snapshots, done });
  try {
    // An unreadable state may list packfiles (which would look unindexed, so deletable) or
    // deletions: what is safe to delete is unknown until `repair` rebuilds it.
    const unreadable = (await repo.refreshIndex()).unreadableCount ?? 0;
    if (unreadable > 0) {
      throw new MaintenanceRefusedError(
        `maintenance stopped, nothing deleted: ${unreadable} state(s) of the store cannot be read; run check, then repair`,
      );
    }

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
      let markedBytes = 0;
      for (const b of blobs) {
        if (marks.isMarked(b.kind, b.id)) markedBytes += b.length;
        else unmarkedBytes += b.length;
      }
      const status = repo.packfileStatus(packId);
      const pastGrace = status?.time !== undefined && old(status.time * 1000);
      if (markedBytes > 0) {
        if (unmarkedBytes === 0) continue;
        if (pastGrace && unmarkedBytes * 100 >= repackPercent * (unmarkedBytes + markedBytes)) {
          marks.planRepack(packId, status?.size);
        } else {
          counts.partial++;
          counts.reclaimableBytes += unmarkedBytes;
        }
        continue;
      }
      if (pastGrace) marks.doom(packId, status?.size);
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

    // Repack: live blobs into new packfiles, durable (flush) before the old ones are doomed.
    for (const page of marks.toRepack(100)) {
      for (const p of page) {
        signal?.throwIfAborted();
        counts.repacked++;
        if (lock === undefined) {
          for (const b of repo.indexedBlobs(p.id))
            if (marks.isMarked(b.kind, b.id)) counts.repackedBytes += b.length;
        } else {
          counts.repackedBytes += await repackPackfile(repo, marks, p.id, signal);
          progress('repack', counts.repacked);
        }
      }
    }
    if (counts.repacked > 0) {
      if (lock !== undefined) await repo.flush();
      for (const page of marks.toRepack(1000)) for (const p of page) marks.doom(p.id, p.size);
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
    const left = lock === undefined ? undefined : await repo.storage?.removeLeftovers?.(graceMs);
    return {
      dryRun,
      graceMs,
      ...counts,
      leftovers: left?.count ?? 0,
      leftoverBytes: left?.bytes ?? 0,
      ...(left?.retention !== undefined ? { retention: left.retention } : {}),
      deletedIds,
    };
  } finally {
    marks.close();
    await lock?.release().catch(() => undefined);
  }
}
