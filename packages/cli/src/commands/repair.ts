import type { RepairLossView } from '../engine/engine.ts';
import { ExitCode } from '../exit-codes.ts';
import { formatCount } from '../output/format.ts';
import type { JsonObject } from '../output/json.ts';
import type { Command } from './command.ts';
import { MAX_LISTED } from './views.ts';
import { withStore } from './with-store.ts';

function lossJson(l: RepairLossView): JsonObject {
  return { kind: l.kind, snapshot: l.snapshotId, path: l.path ?? null, message: l.message };
}

export const repairCommand: Command = {
  words: ['repair'],
  summary: 'heal a damaged store: rebuild lost or corrupt states, mark data that is gone',
  description:
    'Run it when check reports missing or corrupt data. Under an exclusive lock: reads every state\n' +
    'of the store (those that cannot be read are removed), reads every packfile whole and verifies\n' +
    'every block against its own index (-fast: reads the indexes only), lists again the packfiles\n' +
    'no state lists, records the packfiles gone from the store as deleted, stores again the good\n' +
    'blocks of a damaged packfile before deleting it, then walks every snapshot: one whose data is\n' +
    'all there is kept as it is; otherwise it is replaced by a repaired snapshot (same name, time\n' +
    'and source, tag "repaired") in which each file whose data is gone is kept with the error\n' +
    '"data lost in the store (kloset repair)" and no content, and the entries under an unreadable\n' +
    'part of the tree are dropped. A snapshot whose header cannot be read is removed. Each file\n' +
    'lost is named on stderr. The next backup stores the lost files again (their sources are read\n' +
    'anew). Exits 0 when nothing was lost, 4 when some snapshot data was lost (the store is\n' +
    'consistent either way). -dry-run shows what would be done and writes nothing.',
  usesStore: true,
  flags: [
    { name: 'fast', kind: 'boolean', description: "read each packfile's index only, not its blocks" },
    { name: 'dry-run', kind: 'boolean', description: 'show what would be repaired, write nothing' },
  ],
  args: [],
  json:
    '{"dry_run", "fast", "states", "corrupt_states", "states_written", "packfiles", "packfiles_indexed", ' +
    '"packfiles_missing", "packfiles_deleted", "packfiles_lost", "blobs_salvaged", "blobs_lost", "snapshots", ' +
    '"snapshots_repaired", "snapshots_removed", "files_lost", "entries_dropped", "data_lost", ' +
    '"repaired": [{"from", "to"}], "notes": [message, ...], "losses": [{"kind", "snapshot", "path", "message"}] (first 1000), "loss_count"}',
  examples: ['kloset repair -dry-run', 'kloset at @my-s3-store repair', 'kloset repair -fast'],
  async run(ctx) {
    const dryRun = ctx.flags.bool('dry-run');
    const fast = ctx.flags.bool('fast');
    return withStore(ctx, dryRun, async (store) => {
      const notes: string[] = [];
      const losses: RepairLossView[] = [];
      let lossCount = 0;
      const progress = ctx.out.progress('repair');
      let r: Awaited<ReturnType<typeof store.repair>>;
      try {
        r = await store.repair({
          dryRun,
          fast,
          signal: ctx.io.signal,
          onProgress: (e) => progress.update(e),
          onNote: (message) => {
            if (notes.length < MAX_LISTED) notes.push(message);
            if (!ctx.out.json) void ctx.out.warn(`repair: ${message}`);
          },
          onLoss: (l) => {
            lossCount++;
            if (losses.length < MAX_LISTED) losses.push(l);
            if (!ctx.out.json) void ctx.out.warn(`repair: lost: ${l.message}`);
          },
        });
      } finally {
        progress.stop();
      }
      const w = (done: string, todo: string) => (dryRun ? todo : done);
      const damaged =
        r.corruptStates +
          r.packfilesIndexed +
          r.packfilesMissing +
          r.packfilesDeleted +
          r.snapshotsRepaired +
          r.snapshotsRemoved >
        0;
      await ctx.out.result(
        {
          dry_run: r.dryRun,
          fast: r.fast,
          states: r.states,
          corrupt_states: r.corruptStates,
          states_written: r.statesWritten,
          packfiles: r.packfiles,
          packfiles_indexed: r.packfilesIndexed,
          packfiles_missing: r.packfilesMissing,
          packfiles_deleted: r.packfilesDeleted,
          packfiles_lost: r.packfilesLost,
          blobs_salvaged: r.blobsSalvaged,
          blobs_lost: r.blobsLost,
          snapshots: r.snapshots,
          snapshots_repaired: r.snapshotsRepaired,
          snapshots_removed: r.snapshotsRemoved,
          files_lost: r.filesLost,
          entries_dropped: r.entriesDropped,
          data_lost: r.dataLost,
          repaired: r.repaired.map((x) => ({ from: x.from, to: x.to === '' ? null : x.to })),
          notes,
          losses: losses.map(lossJson),
          loss_count: lossCount,
        },
        () => [
          `repair${fast ? ' -fast' : ''}: ${formatCount(r.states)} states, ${formatCount(r.packfiles)} packfiles, ` +
            `${formatCount(r.snapshots)} snapshots read` +
            (damaged ? '' : ': nothing to repair'),
          ...(damaged
            ? [
                `states: ${formatCount(r.corruptStates)} corrupt ${w('removed', 'to remove')}; ` +
                  `${formatCount(r.packfilesIndexed)} packfiles ${w('listed', 'to list')} again from their own index`,
                `packfiles: ${formatCount(r.packfilesMissing)} missing ${w('recorded', 'to record')} as deleted, ` +
                  `${formatCount(r.packfilesDeleted)} damaged ${w('deleted', 'to delete')}` +
                  (r.packfilesLost > 0
                    ? ` (${formatCount(r.packfilesLost)} with their whole content lost)`
                    : ''),
                `blocks: ${formatCount(r.blobsSalvaged)} ${w('salvaged', 'to salvage')}, ${formatCount(r.blobsLost)} corrupt`,
                `snapshots: ${formatCount(r.snapshotsRepaired)} ${w('repaired', 'to repair')} (tagged "repaired"), ` +
                  `${formatCount(r.snapshotsRemoved)} ${w('removed', 'to remove')}; ` +
                  `${formatCount(r.filesLost)} files lost, ${formatCount(r.entriesDropped)} entries dropped`,
              ]
            : []),
        ],
      );
      if (r.dataLost) {
        await ctx.out.warn(
          `repair: ${w('data was lost', 'data is lost')}: ${formatCount(r.filesLost)} files, ${formatCount(r.entriesDropped)} ` +
            `entries, ${formatCount(r.snapshotsRemoved)} snapshots (listed above); back the sources up again to store them anew`,
        );
        return ExitCode.Integrity;
      }
      return ExitCode.Ok;
    });
  },
};
