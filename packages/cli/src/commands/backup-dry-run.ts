/** `backup -dry-run`: what a backup would hold, from a walk of the source; nothing is written. */
import type { Source } from '@kloset/connector-contract';
import { ExitCode } from '../exit-codes.ts';
import { describeLocation, type ResolvedLocation } from '../location/location.ts';
import { formatBytes, formatCount } from '../output/format.ts';
import type { CommandContext } from './command.ts';
import { type OpeningStore, withStore } from './with-store.ts';

/** Opens the store read-only, walks `source` (closed at the end), prints the counts. */
export async function dryRun(
  ctx: CommandContext,
  source: Source,
  where: ResolvedLocation,
  opening: OpeningStore | undefined,
): Promise<ExitCode> {
  const verbose = ctx.services.verbose;
  const outcome = await (async () => {
    try {
      return await withStore(
        ctx,
        true,
        (store) =>
          store.dryRunBackup(source, {
            source: describeLocation(where),
            signal: ctx.io.signal,
            ...(verbose
              ? {
                  // Written as they come (the walk waits for a slow stdout): none is held.
                  onEntry: (e) =>
                    ctx.out.json
                      ? ctx.out.record({ path: e.path, type: e.type, size: e.size, unchanged: e.unchanged })
                      : ctx.out.text(`${e.path}${e.unchanged ? '  (unchanged)' : ''}`),
                }
              : {}),
          }),
        where,
        opening,
      );
    } finally {
      await source.close();
    }
  })();
  const o = outcome;
  await ctx.out.result(
    {
      dry_run: true,
      entries: o.entries,
      files: o.files,
      directories: o.directories,
      symlinks: o.symlinks,
      errors: o.errors,
      bytes: o.bytes,
      unchanged_files: o.unchangedFiles,
      unchanged_bytes: o.unchangedBytes,
      parent: o.parent ?? null,
    },
    () => [
      `dry run of ${where.display}: would back up ${formatCount(o.files)} files, ` +
        `${formatCount(o.directories)} directories, ${formatCount(o.symlinks)} symlinks, ${formatBytes(o.bytes)}` +
        (o.errors ? `, ${formatCount(o.errors)} entries unreadable` : ''),
      o.parent === undefined
        ? 'no previous snapshot of this source: every file would be read; nothing was written to the store'
        : `${formatCount(o.unchangedFiles)} files (${formatBytes(o.unchangedBytes)}) unchanged since snapshot ` +
          `${o.parent.slice(0, 8)} would not be read again; nothing was written to the store`,
    ],
  );
  return ExitCode.Ok;
}
