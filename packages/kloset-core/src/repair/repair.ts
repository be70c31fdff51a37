/**
 * `repair`: heals a damaged store (FORMAT.md §10.2), as restic's `repair index` and
 * `repair snapshots` do, under an exclusive lock (a dry run takes none and writes nothing).
 *
 * 1. Every state is read from storage (state-scan.ts); those that fail authentication or do not
 *    parse are corrupt. The local index cache is not trusted for this: it may hold a state that
 *    was damaged after it was applied.
 * 2. Every packfile in storage that no state deletes is read (pack-scan.ts): its own index, and,
 *    unless fast, every blob verified against it (step 4). A packfile whose index opens and that
 *    the readable states do not list, or list only in part or with another size, is listed again
 *    by new states (`Repository.writeStates`) with the blobs of its own index. A packfile whose
 *    index does not open is salvaged from what the readable states list of it (its blobs read
 *    and stored again), or, when no readable state lists it, its blobs are lost; either way it is
 *    deleted.
 * 3. Packfiles the readable states list but storage lacks are recorded as deleted, so that no
 *    reader (and no backup) counts on their blobs.
 * 4. A packfile with corrupt blobs: its good blobs are stored again (new packfiles, `flush`),
 *    then it is recorded as deleted and deleted.
 * 5. The corrupt states are deleted: everything they listed that still exists is listed by the
 *    states of step 2.
 * 6. Every snapshot is walked against the repaired index (snapshot-repair.ts); damaged ones are
 *    replaced by repaired ones, unreadable ones deleted.
 *
 * Write order (each durable before the next): the new listings and the salvaged blobs, then the
 * deletion states, then the packfile deletions, then the removal of corrupt states; per snapshot,
 * its new tree, then its new header, then the removal of the old header. A crash at any point
 * leaves a store that is no worse, and the next run finishes the work.
 */
import { isNotFound } from '@kloset/connector-contract';
import { fromHexId, toHex } from '../encoding/bytes.ts';
import type { IndexedPackfile } from '../repository/index-cache.ts';
import { acquireLock } from '../repository/locks.ts';
import type { PackfileInfo, Repository } from '../repository/repository.ts';
import { STATE_MAX_BLOBS } from '../repository/state-codec.ts';
import { TaskPool } from '../repository/task-pool.ts';
import { type GoodBlob, openEntries, readWhole, scanPackfile } from './pack-scan.ts';
import {
  MAX_REPAIR_REPORTS,
  type RepairLoss,
  type RepairNote,
  type RepairOptions,
  type RepairProgress,
  type RepairResult,
} from './repair-options.ts';
import { liveIndex, PredictedIndex } from './repaired-index.ts';
import { repairSnapshots, type SnapshotRepairCounts } from './snapshot-repair.ts';
import { listedBlobs, scanStates } from './state-scan.ts';

/** A packfile whose own index does not open, to be salvaged from the readable states' listing. */
interface FromStates {
  readonly id: Uint8Array;
  readonly hex: string;
  readonly states: readonly string[];
  readonly reason: string;
}

/** Repairs the store of `repo` (see the module comment). */
export async function repair(repo: Repository, options: RepairOptions = {}): Promise<RepairResult> {
  const signal = options.signal;
  signal?.throwIfAborted();
  const dryRun = options.dryRun ?? false;
  const fast = options.fast ?? false;
  const lock = dryRun ? undefined : await acquireLock(repo, { exclusive: true, ...options.lock });
  const notes: RepairNote[] = [];
  const losses: RepairLoss[] = [];
  const repaired: { from: string; to: string }[] = [];
  const note = (n: RepairNote) => {
    if (notes.length < MAX_REPAIR_REPORTS) notes.push(n);
    options.onNote?.(n);
  };
  const progress = (phase: RepairProgress['phase'], done: number) => options.onProgress?.({ phase, done });
  const would = (done: string, todo: string) => (dryRun ? todo : done);
  const counts = {
    states: 0,
    corruptStates: 0,
    statesWritten: 0,
    packfiles: 0,
    packfileBytes: 0,
    packfilesIndexed: 0,
    packfilesMissing: 0,
    packfilesDeleted: 0,
    packfilesLost: 0,
    blobsSalvaged: 0,
    blobsLost: 0,
  };
  const snapshots: SnapshotRepairCounts = {
    snapshots: 0,
    repaired: 0,
    removed: 0,
    filesLost: 0,
    entriesDropped: 0,
  };
  try {
    // 1. States.
    const scan = await scanStates(repo, 4, signal, (d) => progress('states', d));
    counts.states = scan.listed;
    counts.corruptStates = scan.corrupt.length;
    for (const c of scan.corrupt) {
      note({
        kind: 'corrupt-state',
        id: c.hex,
        message:
          `state ${c.hex} cannot be read (${c.reason}): ${would('removed', 'would be removed')}, ` +
          'the packfiles it listed listed again from their own index',
      });
    }

    // 2 and 4. The packfiles in storage (listed first: salvaged blobs go into new packfiles).
    const listedPacks: PackfileInfo[] = [];
    for await (const p of repo.listPackfiles()) listedPacks.push(p);
    const present = new Set<string>();
    const doomed: Uint8Array[] = [];
    const doomedHex = new Set<string>();
    const predicted = dryRun ? new PredictedIndex(repo, present, doomedHex) : undefined;
    const fromStates: FromStates[] = [];
    let relist: IndexedPackfile[] = [];
    let relistBlobs = 0;
    const writeRelist = async () => {
      const batch = relist;
      relist = [];
      relistBlobs = 0;
      if (!dryRun && batch.length > 0) counts.statesWritten += await repo.writeStates(batch);
    };
    const doom = (id: Uint8Array, hex: string) => {
      doomed.push(id);
      doomedHex.add(hex);
    };
    const salvage = async (packId: Uint8Array, good: readonly GoodBlob[]) => {
      for (const g of good) {
        signal?.throwIfAborted();
        if (!dryRun) await repo.rewriteBlob(g.entry.kind, g.data);
        counts.blobsSalvaged++;
      }
      predicted?.add(
        packId,
        good.map((g) => g.entry),
      );
    };
    for (const p of listedPacks) {
      present.add(toHex(p.id));
      counts.packfiles++;
      counts.packfileBytes += p.size;
    }
    const pool = new TaskPool(options.concurrency ?? 2, 'packfile read');
    let read = 0;
    for (const p of listedPacks) {
      signal?.throwIfAborted();
      const hex = toHex(p.id);
      const listing = scan.packs.get(hex);
      if (listing?.deleted === true) continue; // out of the index already: maintenance deletes it
      await pool.run(async () => {
        const v = await scanPackfile(repo, p.id, p.size, fast);
        progress('packfiles', ++read);
        if (!v.ok) {
          doom(p.id, hex);
          if (listing !== undefined && listing.blobs > 0) {
            fromStates.push({ id: p.id, hex, states: listing.states, reason: v.reason });
            return;
          }
          counts.packfilesLost++;
          note({
            kind: 'unreadable-packfile',
            id: hex,
            message:
              `packfile ${hex}: its own index cannot be read (${v.reason}) and no readable state lists ` +
              `its blobs: they are lost; ${would('deleted', 'would be deleted')}`,
          });
          return;
        }
        if (v.corrupt.length > 0) {
          doom(p.id, hex);
          counts.blobsLost += v.corrupt.length;
          await salvage(p.id, v.good);
          const first = v.corrupt[0]!;
          note({
            kind: 'corrupt-blobs',
            id: hex,
            message:
              `packfile ${hex}: ${v.corrupt.length} of its ${v.entries.length} blobs fail verification ` +
              `(blob ${toHex(first.entry.id)}: ${first.reason}); ${v.good.length} good blobs ` +
              `${would('stored again, the packfile deleted', 'would be stored again, the packfile deleted')}`,
          });
          return;
        }
        const sizeDiffers = listing?.size !== undefined && (listing.size !== p.size || listing.sizeConflict);
        if (listing !== undefined && listing.blobs >= v.entries.length && !sizeDiffers) return;
        counts.packfilesIndexed++;
        const why =
          listing === undefined
            ? 'no readable state lists it'
            : sizeDiffers
              ? `the states give its size as ${listing.size}, storage as ${p.size}`
              : `the readable states list ${listing.blobs} of its ${v.entries.length} blobs`;
        note({
          kind: 'unlisted-packfile',
          id: hex,
          message: `packfile ${hex}: ${why}; ${would('listed', 'would be listed')} again from its own index (${v.entries.length} blobs)`,
        });
        predicted?.add(p.id, v.entries);
        relist.push({ id: p.id, size: p.size, blobs: v.entries });
        relistBlobs += v.entries.length;
        if (relistBlobs >= STATE_MAX_BLOBS) await writeRelist();
      });
    }
    await pool.drain();
    await writeRelist();

    // Packfiles whose own index does not open: what the readable states list of them.
    for (const f of fromStates) {
      signal?.throwIfAborted();
      const entries = await listedBlobs(repo, f.hex, f.states);
      let bytes: Uint8Array;
      try {
        bytes = await readWhole(repo, f.id);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        bytes = new Uint8Array(0);
      }
      const { good, corrupt } = await openEntries(repo, f.id, bytes, entries);
      counts.blobsLost += corrupt.length;
      await salvage(f.id, good);
      note({
        kind: 'unreadable-packfile',
        id: f.hex,
        message:
          `packfile ${f.hex}: its own index cannot be read (${f.reason}); ${good.length} of the ` +
          `${entries.length} blobs the states list ${would('were', 'would be')} read and stored again` +
          `${corrupt.length > 0 ? `, ${corrupt.length} are lost` : ''}; ${would('deleted', 'would be deleted')}`,
      });
    }

    // 3. Packfiles the states list that storage lacks.
    const absent: Uint8Array[] = [];
    for (const [hex, listing] of scan.packs) {
      if (listing.deleted || present.has(hex)) continue;
      absent.push(fromHexId(hex, 'packfile id'));
      note({
        kind: 'missing-packfile',
        id: hex,
        message:
          `packfile ${hex} is listed by ${listing.states.length} state(s) but gone from storage: ` +
          `${would('recorded', 'would be recorded')} as deleted (its blobs are lost unless stored elsewhere)`,
      });
    }
    counts.packfilesMissing = absent.length;
    counts.packfilesDeleted = doomed.length;

    // The writes, in the order of the module comment.
    if (lock !== undefined) {
      await repo.flush(); // salvaged blobs: new packfiles, then the states listing them
      await lock.refresh();
      const deletions = [...doomed, ...absent];
      if (deletions.length > 0) counts.statesWritten += await repo.writeDeletions(deletions);
      const deleter = new TaskPool(8, 'packfile deletion');
      for (const id of doomed) await deleter.run(() => repo.deletePackfile(id));
      await deleter.drain();
      for (const c of scan.corrupt) await repo.storage.delete('state', c.hex);
      await repo.refreshIndex(); // rebuilt from the store if it had applied a removed state
    }

    // 6. Snapshots.
    await repairSnapshots({
      repo,
      index: predicted ?? liveIndex(repo),
      dryRun,
      treeConcurrency: options.treeConcurrency ?? 8,
      signal,
      counts: snapshots,
      loss: (l) => {
        if (losses.length < MAX_REPAIR_REPORTS) losses.push(l);
        options.onLoss?.(l);
      },
      repaired: (from, to) => {
        if (repaired.length < MAX_REPAIR_REPORTS) repaired.push({ from, to });
      },
      progress: (d) => progress('snapshots', d),
    });
  } finally {
    await lock?.release().catch(() => undefined);
  }
  return {
    dryRun,
    fast,
    ...counts,
    snapshots: snapshots.snapshots,
    snapshotsRepaired: snapshots.repaired,
    snapshotsRemoved: snapshots.removed,
    filesLost: snapshots.filesLost,
    entriesDropped: snapshots.entriesDropped,
    dataLost: snapshots.filesLost + snapshots.entriesDropped + snapshots.removed > 0,
    notes,
    losses,
    repaired,
  };
}
