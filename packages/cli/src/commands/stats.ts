/** `stats`: sizes and deduplication, per snapshot and for the whole store. */
import { parseSnapshotRef, shortId } from '../args/snapshot-ref.ts';
import { isEmptyFilterView, SELECTION_FLAGS } from '../args/snapshot-selection.ts';
import type { SnapshotView, StoreStatsView } from '../engine/engine.ts';
import { CliError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';
import { formatBytes, formatCount, formatTime, table } from '../output/format.ts';
import type { JsonObject } from '../output/json.ts';
import type { Command } from './command.ts';
import { commandFilter, selectSnapshots } from './selection.ts';
import { isoTime } from './views.ts';
import { withStore } from './with-store.ts';

function snapshotStatsJson(s: SnapshotView): JsonObject {
  return {
    id: s.id,
    short_id: shortId(s.id),
    time: isoTime(s.time),
    files: s.summary.files,
    directories: s.summary.directories,
    symlinks: s.summary.symlinks,
    bytes: s.summary.bytes,
    stored_bytes: s.summary.storedBytes,
  };
}

/** Logical bytes over packfile bytes, or null for a store without packfiles. */
function dedupRatio(logical: number, packfileBytes: number): number | null {
  return packfileBytes > 0 ? logical / packfileBytes : null;
}

function storeStatsJson(all: readonly SnapshotView[], t: StoreStatsView): JsonObject {
  const bytes = all.reduce((n, s) => n + s.summary.bytes, 0);
  return {
    snapshots: all.length,
    bytes,
    packfiles: t.packfiles,
    packfile_bytes: t.packfileBytes,
    states: t.states,
    state_bytes: t.stateBytes,
    snapshot_headers: t.snapshotHeaders,
    snapshot_header_bytes: t.snapshotHeaderBytes,
    stored_bytes: t.packfileBytes + t.stateBytes + t.snapshotHeaderBytes,
    blobs: t.blobs,
    dedup_ratio: dedupRatio(bytes, t.packfileBytes),
  };
}

function storeLines(all: readonly SnapshotView[], t: StoreStatsView): string[] {
  const bytes = all.reduce((n, s) => n + s.summary.bytes, 0);
  const stored = t.packfileBytes + t.stateBytes + t.snapshotHeaderBytes;
  const ratio = dedupRatio(bytes, t.packfileBytes);
  const rows: [string, string][] = [
    ['snapshots', formatCount(all.length)],
    ['logical', `${formatBytes(bytes)} (${formatCount(bytes)} bytes in the files of every snapshot)`],
    ['packfiles', `${formatCount(t.packfiles)} (${formatBytes(t.packfileBytes)})`],
    ['blobs', `${formatCount(t.blobs)} (in the index)`],
    ['stored', `${formatBytes(stored)} (${formatCount(stored)} bytes: packfiles, states, snapshot headers)`],
    ['dedup ratio', ratio === null ? '- (no packfile)' : `${ratio.toFixed(2)} (logical / packfile bytes)`],
  ];
  return ['store:', ...rows.map(([k, v]) => `  ${`${k}:`.padEnd(13)}${v}`)];
}

export const statsCommand: Command = {
  words: ['stats'],
  summary: 'show sizes and deduplication, per snapshot and for the store',
  description:
    'Per snapshot (every one matching -tag, -name, -since and -before, or the SNAPSHOTs given):\n' +
    'its files, directories, logical bytes (the sum of the sizes of its files) and the bytes the\n' +
    'backup that made it added to packfiles (its new blobs after deduplication, compression and\n' +
    'encryption; what later backups reuse of them is not counted again). For the store, always\n' +
    'all of it: snapshots (headers that can be read), logical bytes (summed over every snapshot:\n' +
    'a file in two snapshots counts twice), packfiles (every packfile in storage) and their bytes,\n' +
    'blobs (entries of the index: blobs in packfiles that states list, one stored twice counts\n' +
    'twice), stored bytes (packfiles, states and snapshot headers in storage: config and locks\n' +
    'aside) and the deduplication ratio: logical bytes / packfile bytes (compression and\n' +
    'encryption overhead included; above 1 when snapshots share content). Counts come from the\n' +
    "snapshot headers, the storage's listings (streamed) and the index: nothing grows with the\n" +
    'number of blobs. A snapshot header that cannot be read is named on stderr (exit 4).',
  usesStore: true,
  flags: [...SELECTION_FLAGS],
  args: [
    { name: 'SNAPSHOT', required: false, variadic: true, description: 'snapshot id prefixes or "latest"' },
  ],
  json:
    '{"snapshots": [{"id", "short_id", "time", "files", "directories", "symlinks", "bytes", "stored_bytes"}], ' +
    '"store": {"snapshots", "bytes", "packfiles", "packfile_bytes", "states", "state_bytes", "snapshot_headers", ' +
    '"snapshot_header_bytes", "stored_bytes", "blobs", "dedup_ratio"}}',
  examples: ['kloset stats', 'kloset at @my-s3-store stats -json', 'kloset stats -tag daily -since 30d'],
  async run(ctx) {
    const refs = ctx.args.map((a) => parseSnapshotRef(a, 'stats').snapshot);
    const filter = await commandFilter(ctx, 'stats');
    return withStore(ctx, true, async (store) => {
      if (store.storeStats === undefined) throw new CliError('stats: this store cannot tell its sizes');
      const unreadable: { id: string; reason: string }[] = [];
      // Every readable header once (unreadable ones named below), then the chosen among them.
      const all = await selectSnapshots(store, [], { tags: [] }, false, (id, reason) =>
        unreadable.push({ id, reason }),
      );
      const chosen =
        refs.length === 0 && isEmptyFilterView(filter)
          ? all
          : await selectSnapshots(store, refs, filter, false);
      const totals = await store.storeStats();
      await ctx.out.result(
        { snapshots: chosen.map(snapshotStatsJson), store: storeStatsJson(all, totals) },
        () => [
          ...(chosen.length === 0
            ? ['no snapshot']
            : table(
                [
                  ['snapshot', 'time', 'files', 'directories', 'logical', 'added'],
                  ...chosen.map((s) => [
                    shortId(s.id),
                    formatTime(s.time),
                    formatCount(s.summary.files),
                    formatCount(s.summary.directories),
                    formatBytes(s.summary.bytes),
                    formatBytes(s.summary.storedBytes),
                  ]),
                ],
                [2, 3, 4, 5],
              )),
          '',
          ...storeLines(all, totals),
        ],
      );
      for (const u of unreadable) {
        await ctx.out.warn(`snapshot ${u.id}: cannot be read: ${u.reason} (run 'kloset check')`);
      }
      return unreadable.length > 0 ? ExitCode.Integrity : ExitCode.Ok;
    });
  },
};
