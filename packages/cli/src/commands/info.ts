import { AS_OF_FLAG } from '../args/common-flags.ts';
import { parseSnapshotRef } from '../args/snapshot-ref.ts';
import { SELECTION_FLAGS } from '../args/snapshot-selection.ts';
import { ExitCode } from '../exit-codes.ts';
import { formatBytes, formatCount } from '../output/format.ts';
import type { Command } from './command.ts';
import { commandFilter, refuseFilter, selectOne } from './selection.ts';
import { snapshotDetails, snapshotJson, storeDetails, storeJson } from './views.ts';
import { withStore } from './with-store.ts';

export const infoCommand: Command = {
  words: ['info'],
  summary: 'show the store, or a snapshot',
  description:
    'Without an argument, shows the store: its id, encryption, format and totals. With SNAPSHOT,\n' +
    'its header ("latest": the newest snapshot matching -tag, -name, -source, -since and -before,\n' +
    'refused when those come from several sources).',
  usesStore: true,
  flags: [...SELECTION_FLAGS, AS_OF_FLAG],
  args: [{ name: 'SNAPSHOT', required: false, description: 'a snapshot id prefix or "latest"' }],
  json: '{"store": {store}, "snapshots", "bytes"} or {"snapshot": {snapshot}}',
  examples: ['kloset info', 'kloset at @my-s3-store info latest', 'kloset info -tag weekly latest'],
  async run(ctx) {
    const ref = ctx.args[0] === undefined ? undefined : parseSnapshotRef(ctx.args[0], 'info');
    const filter = await commandFilter(ctx, 'info');
    if (!ref) refuseFilter(filter, 'info', 'the filters choose a SNAPSHOT: give one (e.g. latest)');
    return withStore(ctx, true, async (store, where) => {
      if (ref) {
        const snap = await selectOne(store, ref.snapshot, filter, (l) => ctx.out.warn(l));
        await ctx.out.result({ snapshot: snapshotJson(snap) }, () => snapshotDetails(snap));
        return ExitCode.Ok;
      }
      const snapshots = await store.snapshots();
      const bytes = snapshots.reduce((n, s) => n + s.summary.bytes, 0);
      const stored = snapshots.reduce((n, s) => n + s.summary.storedBytes, 0);
      await ctx.out.result(
        {
          store: storeJson(where.location, store.view),
          snapshots: snapshots.length,
          bytes,
          stored_bytes: stored,
        },
        () => [
          ...storeDetails(where.display, store.view),
          `${'snapshots:'.padEnd(13)}${formatCount(snapshots.length)} (${formatBytes(bytes)} backed up, ${formatBytes(stored)} stored)`,
        ],
      );
      return ExitCode.Ok;
    });
  },
};
