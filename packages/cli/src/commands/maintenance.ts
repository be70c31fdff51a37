import { parseDuration } from '../args/time-spec.ts';
import { UsageError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';
import { formatBytes, formatCount, formatDuration } from '../output/format.ts';
import type { Command } from './command.ts';
import { retentionJson, retentionLines } from './retention-lines.ts';
import { withStore } from './with-store.ts';

const DEFAULT_GRACE = '24h';
const DEFAULT_REPACK = 50;

export const maintenanceCommand: Command = {
  words: ['maintenance'],
  summary: 'delete the packfiles no snapshot uses any more (after a grace period)',
  description:
    'Reclaims the space of removed snapshots: under an exclusive lock, reads every snapshot to\n' +
    'find the data they use, then deletes the packfiles none of them uses, once older than the\n' +
    'grace period (-grace, default 24h): by the time the index recorded them, or, for packfiles\n' +
    'no index lists (left by an interrupted backup), by their time in the storage. The grace\n' +
    'period protects a backup running at the same time whose lock went stale. Deletions are\n' +
    'recorded in the store before packfiles are deleted, so an interrupted run is finished by the\n' +
    'next. Packfiles still partly used but at least -repack percent unused (default 50) are\n' +
    'repacked: their live data is copied into new packfiles, then they are deleted; the others\n' +
    'are kept whole (their reclaimable bytes are shown). A snapshot that cannot be read stops\n' +
    'maintenance before anything is deleted (exit 4). Last, what interrupted writes left in the\n' +
    'storage and older than the grace period is removed: temporary files of a local store,\n' +
    'incomplete multipart uploads of the store in a bucket.\n' +
    '-dry-run shows what would be deleted (leftovers are not looked for). On a store with Object\n' +
    'Lock (options object_lock and retention), a delete only hides an object: its data is removed\n' +
    'by a later run once its retention has ended ("N deleted objects kept until their retention ends"),\n' +
    'and the retention of the objects still in use is extended when less than half of it is left.',
  usesStore: true,
  flags: [
    {
      name: 'grace',
      kind: 'string',
      value: 'DURATION',
      description: `keep unused packfiles and leftovers younger than this (default ${DEFAULT_GRACE}; e.g. 12h, 7d, 0s)`,
    },
    {
      name: 'repack',
      kind: 'string',
      value: 'PERCENT',
      description: `repack packfiles at least PERCENT % unused (default ${DEFAULT_REPACK}; 100: never)`,
    },
    { name: 'dry-run', kind: 'boolean', description: 'show what would be deleted, delete nothing' },
  ],
  args: [],
  json: '{"dry_run", "grace_seconds", "snapshots", "packfiles", "packfile_bytes", "deleted", "deleted_bytes", "unfinished", "kept_recent", "kept_recent_bytes", "kept_unknown_age", "partial", "reclaimable_bytes", "repacked", "repacked_bytes", "leftovers", "leftover_bytes", "retention": {"reclaimed", "reclaimed_bytes", "kept", "kept_bytes", "kept_until", "extended"} (Object Lock stores), "deleted_packfiles": [id, ...] (first 1000)}',
  examples: [
    'kloset maintenance',
    'kloset at @my-s3-store maintenance -dry-run',
    'kloset maintenance -grace 7d',
  ],
  async run(ctx) {
    const graceMs = parseDuration(ctx.flags.string('grace') ?? DEFAULT_GRACE, 'grace', 'maintenance');
    const dryRun = ctx.flags.bool('dry-run');
    const rawRepack = ctx.flags.string('repack') ?? String(DEFAULT_REPACK);
    const repackPercent = Number(rawRepack);
    if (!/^\d+$/.test(rawRepack) || repackPercent < 1 || repackPercent > 100) {
      throw new UsageError(
        `maintenance: -repack takes a percentage from 1 to 100, not ${JSON.stringify(rawRepack)}`,
        'maintenance',
      );
    }
    return withStore(ctx, dryRun, async (store) => {
      const progress = ctx.out.progress('maintenance');
      let r: Awaited<ReturnType<typeof store.maintenance>>;
      try {
        r = await store.maintenance({
          graceMs,
          repackPercent,
          dryRun,
          signal: ctx.io.signal,
          onProgress: (e) => progress.update(e),
        });
      } finally {
        progress.stop();
      }
      const verb = dryRun ? 'would delete' : 'deleted';
      await ctx.out.result(
        {
          dry_run: r.dryRun,
          grace_seconds: Math.round(graceMs / 1000),
          snapshots: r.snapshots,
          packfiles: r.packfiles,
          packfile_bytes: r.packfileBytes,
          deleted: r.deleted,
          deleted_bytes: r.deletedBytes,
          unfinished: r.unfinished,
          kept_recent: r.keptRecent,
          kept_recent_bytes: r.keptRecentBytes,
          kept_unknown_age: r.keptUnknownAge,
          partial: r.partial,
          reclaimable_bytes: r.reclaimableBytes,
          repacked: r.repacked,
          repacked_bytes: r.repackedBytes,
          leftovers: r.leftovers,
          leftover_bytes: r.leftoverBytes,
          ...(r.retention !== undefined ? { retention: retentionJson(r.retention) } : {}),
          deleted_packfiles: [...r.deletedIds],
        },
        () => [
          `${formatCount(r.snapshots)} snapshots use the store's data; ${formatCount(r.packfiles)} packfiles (${formatBytes(r.packfileBytes)})`,
          `${verb} ${formatCount(r.deleted)} unused packfiles (${formatBytes(r.deletedBytes)})` +
            (r.unfinished > 0 ? `, ${formatCount(r.unfinished)} left by an interrupted run` : ''),
          ...(r.keptRecent > 0
            ? [
                `kept ${formatCount(r.keptRecent)} unused packfiles younger than ${formatDuration(graceMs)} (${formatBytes(r.keptRecentBytes)})`,
              ]
            : []),
          ...(r.keptUnknownAge > 0
            ? [`kept ${formatCount(r.keptUnknownAge)} unlisted packfiles whose age the storage does not tell`]
            : []),
          ...(r.repacked > 0
            ? [
                `${dryRun ? 'would repack' : 'repacked'} ${formatCount(r.repacked)} partly used packfiles (${formatBytes(r.repackedBytes)} still in use copied)`,
              ]
            : []),
          ...(r.partial > 0
            ? [
                `${formatCount(r.partial)} packfiles are partly used: ${formatBytes(r.reclaimableBytes)} in them is unused (kept, not repacked)`,
              ]
            : []),
          ...(r.leftovers > 0
            ? [
                `removed ${formatCount(r.leftovers)} leftovers of interrupted writes older than ${formatDuration(graceMs)} (${formatBytes(r.leftoverBytes)})`,
              ]
            : []),
          ...(r.retention !== undefined ? retentionLines(r.retention) : []),
        ],
      );
      return ExitCode.Ok;
    });
  },
};
