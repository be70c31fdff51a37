import { protocolOf, type Source } from '@kloset/connector-contract';
import type { Engine, EntryWarning } from '../engine/engine.ts';
import { ExitCode } from '../exit-codes.ts';
import { describeLocation, type ResolvedLocation } from '../location/location.ts';
import { formatBytes, formatCount, formatDuration } from '../output/format.ts';
import { dryRun } from './backup-dry-run.ts';
import { backupFilters, FILTER_FLAGS, FILTER_RULES } from './backup-filters.ts';
import type { Command } from './command.ts';
import { FailureList, snapshotJson } from './views.ts';
import { abandonStore, type OpeningStore, storeOptions, withStore } from './with-store.ts';

/**
 * The name of a snapshot without -name: `@NAME` for a named source, the URL as typed (less its
 * query) for a one-off location of another protocol (a bucket's root is `/`, as every bucket's),
 * else undefined: the engine names it after the source root (a directory's path).
 */
export function defaultSnapshotName(where: ResolvedLocation): string | undefined {
  if (where.name !== undefined) return `@${where.name}`;
  return protocolOf(where.location) === 'fs' ? undefined : where.location;
}

export const backupCommand: Command = {
  words: ['backup'],
  summary: 'back up a directory or a named source into a snapshot',
  description:
    'Backs up PATH (default: the current directory) or the named source @NAME into a new snapshot.\n' +
    'Entries that cannot be read are recorded in the snapshot and reported; the backup goes on\n' +
    'and exits with 3. A file that changes while it is read is read again; if it changes again,\n' +
    'it is stored as read and reported as a warning (exit code unchanged).\n' +
    'Unchanged files (same size, mtime and change token as in the previous\n' +
    'snapshot of the same source) are not read again.\n' +
    'The snapshot is named @NAME for a named source, the URL for a one-off one (s3://HOST/BUCKET),\n' +
    "else after the directory's path, unless -name gives another; it records the source\n" +
    '(protocol, origin: host name, or endpoint and bucket; root) for -source to find it by.\n\n' +
    `${FILTER_RULES}\n\n` +
    'With -dry-run, the source is walked (filters applied) and nothing is written to the store:\n' +
    'no lock, no data, no snapshot. No file is read: it reports the entries and the sizes the\n' +
    'source lists, and the files a backup would not read again (unchanged since the previous\n' +
    'snapshot of the same source); with -verbose, each path too. Progress (on a terminal) shows\n' +
    'the totals and an ETA once the walk of the source has ended, and the count so far, N+, before.',
  usesStore: true,
  flags: [
    { name: 'tag', kind: 'list', value: 'TAG', description: 'tag the snapshot (repeat or comma-separate)' },
    {
      name: 'name',
      kind: 'string',
      value: 'NAME',
      description:
        "name of the snapshot (default: @NAME for a named source, the URL of a one-off one, else the directory's path)",
    },
    ...FILTER_FLAGS,
    {
      name: 'dry-run',
      kind: 'boolean',
      description: 'walk the source and report what would be backed up; write nothing to the store',
    },
  ],
  args: [{ name: 'PATH|@NAME', required: false, description: 'what to back up (default: .)' }],
  json:
    '{"snapshot": {snapshot}, "failed": [{"path", "error"}] (first 1000), "failed_count", "warnings": [{"path", "warning"}] (first 1000), "warning_count"}; ' +
    'with -dry-run: {"dry_run": true, "entries", "files", "directories", "symlinks", "errors", "bytes", "unchanged_files", "unchanged_bytes", "parent"}, after one {"path", "type", "size", "unchanged"} per entry with -verbose',
  examples: [
    'kloset backup ~/Documents',
    'kloset at /var/backups backup @my-s3-bucket',
    'kloset at @my-s3-store backup /var/www',
    "kloset backup -exclude '*.tmp' -exclude node_modules/ -exclude /cache ~/project",
    "kloset backup -include '/docs/**' -include '*.pdf' -dry-run -verbose ~",
  ],
  async run(ctx) {
    const target = ctx.args[0] ?? '.';
    const filters = await backupFilters(ctx.flags, ctx.io.cwd, ctx.io.env);
    const dry = ctx.flags.bool('dry-run');
    const where = await ctx.services.resolve(target, 'source');
    // When no passphrase prompt can come, the store starts opening first: its key derivation (the
    // thread pool's, ~0.4 s) runs while the source's connector package loads (~0.15 s for S3).
    const opts = storeOptions(ctx, where);
    let opening: OpeningStore | undefined;
    if (ctx.services.opensWithoutPrompt(opts)) {
      opening = ctx.services.openStore(opts, dry);
      // Awaited by withStore, or abandoned below: never an unhandled rejection meanwhile.
      opening.catch(() => undefined);
    }
    let engine: Engine;
    let raw: Source;
    try {
      // The engine first: the store's opening needs it to read the config and start the derivation.
      engine = await ctx.services.engine();
      raw = await ctx.services.sourceAt(where);
    } catch (err) {
      if (opening !== undefined) await abandonStore(opening);
      throw err;
    }
    let filtered: Source;
    try {
      filtered = engine.filterSource(raw, filters);
    } catch (err) {
      await raw.close();
      if (opening !== undefined) await abandonStore(opening);
      throw err;
    }
    // The walk starts now and runs while the store opens (the passphrase's key derivation).
    const source = engine.scanAhead(filtered, ctx.io.signal);
    if (dry) return dryRun(ctx, source, where, opening);
    const failures = new FailureList();
    let warnings: { list: readonly EntryWarning[]; count: number } = { list: [], count: 0 };
    const snapshot = await (async () => {
      try {
        return await withStore(
          ctx,
          false,
          async (store) => {
            const progress = ctx.out.progress('backup');
            try {
              return await store.backup(source, {
                source: describeLocation(where),
                name: ctx.flags.string('name') ?? defaultSnapshotName(where),
                tags: ctx.flags.list('tag'),
                signal: ctx.io.signal,
                onProgress: (e) => progress.update(e),
                onFailure: (f) => {
                  failures.add(f);
                  void ctx.out.warn(`backup: ${f.path}: ${f.error}`);
                },
                onWarnings: (list, count) => {
                  warnings = { list, count };
                  for (const w of list) void ctx.out.warn(`backup: ${w.path}: ${w.warning}`);
                },
                onStoreDamage: (lines) => {
                  for (const line of lines) void ctx.out.warn(`backup: ${line}`);
                },
              });
            } finally {
              progress.stop();
            }
          },
          where,
          opening,
        );
      } finally {
        await source.close();
      }
    })();
    const s = snapshot.summary;
    const failed = Math.max(failures.count, s.errors);
    await ctx.out.result(
      {
        snapshot: snapshotJson(snapshot),
        failed: failures.json(),
        failed_count: failed,
        warnings: warnings.list.map((w) => ({ path: w.path, warning: w.warning })),
        warning_count: warnings.count,
      },
      () => [
        `snapshot ${snapshot.id.slice(0, 8)} of ${where.display}: ${formatCount(s.files)} files, ` +
          `${formatCount(s.directories)} directories, ${formatBytes(s.bytes)} ` +
          `(${formatBytes(s.storedBytes)} added) in ${formatDuration(snapshot.durationMs)}` +
          (failed ? `, ${formatCount(failed)} entries failed` : '') +
          (warnings.count ? `, ${formatCount(warnings.count)} stored with a warning` : ''),
      ],
    );
    return failed > 0 ? ExitCode.Partial : ExitCode.Ok;
  },
};
