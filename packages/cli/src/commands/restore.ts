import { parseSnapshotRef } from '../args/snapshot-ref.ts';
import { SELECTION_FLAGS } from '../args/snapshot-selection.ts';
import { UsageError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';
import { describeLocation } from '../location/location.ts';
import { formatBytes, formatCount } from '../output/format.ts';
import type { Command } from './command.ts';
import { commandFilter, selectOne } from './selection.ts';
import { FailureList } from './views.ts';
import { withStore } from './with-store.ts';

export const restoreCommand: Command = {
  words: ['restore'],
  summary: 'restore a snapshot, or a path of it, into a directory or a named destination',
  description:
    'Restores SNAPSHOT (or only PATH of it) into DIR or the named destination @NAME. Every block\n' +
    'is verified before it is written: content that fails verification is not written, the\n' +
    'entry is reported and the command exits with 4. Entries that cannot be written exit with 3.\n' +
    'With -tag, -name, -source, -since or -before, "latest" is the newest snapshot matching them.\n' +
    'When the snapshots "latest" is chosen from come from several sources (two buckets, a bucket\n' +
    'and a directory), it is refused: each source is listed (name, source, newest snapshot id and\n' +
    'time, the -source that chooses it) and the command exits 2.',
  usesStore: true,
  flags: [
    { name: 'to', kind: 'string', value: 'DIR|@NAME', description: 'where to restore (required)' },
    ...SELECTION_FLAGS,
  ],
  args: [
    {
      name: 'SNAPSHOT[:PATH]',
      required: true,
      description: 'a snapshot id prefix or "latest", and a path in it',
    },
  ],
  json: '{"snapshot", "path", "to", "entries", "bytes", "failed": [{"path", "error"}] (first 1000), "failed_count", "corrupt"}',
  examples: [
    'kloset restore -to /tmp/restore latest',
    'kloset at /var/backups restore -to @my-s3-restore -source @my-s3-bucket latest',
    'kloset at /var/backups restore -to @my-s3-restore 1a2b3c4d',
  ],
  async run(ctx) {
    const to = ctx.flags.string('to');
    if (to === undefined) throw new UsageError('restore: missing -to DIR|@NAME', 'restore');
    const ref = parseSnapshotRef(ctx.args[0]!, 'restore');
    const filter = await commandFilter(ctx, 'restore');
    return withStore(ctx, true, async (store) => {
      const snap = await selectOne(store, ref.snapshot, filter, (l) => ctx.out.warn(l));
      const { where, destination } = await ctx.services.destination(to);
      const failures = new FailureList();
      const progress = ctx.out.progress('restore');
      let outcome: Awaited<ReturnType<typeof store.restore>>;
      try {
        outcome = await store.restore(destination, {
          destination: describeLocation(where),
          snapshotId: snap.id,
          path: ref.path,
          signal: ctx.io.signal,
          onProgress: (e) => progress.update(e),
          onFailure: (f) => {
            failures.add(f);
            void ctx.out.warn(`restore: ${f.path}: ${f.error}`);
          },
        });
      } finally {
        progress.stop();
        await destination.close();
      }
      const failed = Math.max(outcome.failures, failures.count);
      await ctx.out.result(
        {
          snapshot: snap.id,
          path: ref.path,
          to: where.location,
          entries: outcome.entries,
          bytes: outcome.bytes,
          failed: failures.json(),
          failed_count: failed,
          corrupt: outcome.corrupt,
        },
        () => [
          `restored ${formatCount(outcome.entries)} entries (${formatBytes(outcome.bytes)}) of ` +
            `${snap.id.slice(0, 8)}:${ref.path} to ${where.display}` +
            (failed ? `, ${formatCount(failed)} failed` : ''),
        ],
      );
      if (outcome.corrupt > 0) return ExitCode.Integrity;
      return failed > 0 ? ExitCode.Partial : ExitCode.Ok;
    });
  },
};
