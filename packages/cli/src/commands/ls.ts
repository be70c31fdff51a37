import { parseSnapshotRef, pickSnapshot } from '../args/snapshot-ref.ts';
import { ExitCode } from '../exit-codes.ts';
import { table } from '../output/format.ts';
import type { Command } from './command.ts';
import { entryJson, entryLine, snapshotJson, snapshotRow } from './views.ts';
import { withStore } from './with-store.ts';

export const lsCommand: Command = {
  words: ['ls'],
  summary: 'list snapshots, or the entries of a snapshot',
  description:
    'Without an argument, lists the snapshots of the store, oldest first. With SNAPSHOT[:PATH],\n' +
    'lists the entries of that directory of the snapshot (the whole sub-tree with -recursive),\n' +
    'or the entry itself when PATH is not a directory.',
  usesStore: true,
  flags: [{ name: 'recursive', kind: 'boolean', description: 'list the whole sub-tree' }],
  args: [
    {
      name: 'SNAPSHOT[:PATH]',
      required: false,
      description: 'a snapshot id prefix or "latest", and a path in it',
    },
  ],
  json: 'one line per snapshot {snapshot}, or one line per entry {"path", "type", "size", "mtime", "mode", "uid", "gid", "link"?, "error"?}',
  examples: ['kloset ls', 'kloset ls latest', 'kloset ls 1a2b3c4d:/etc -recursive'],
  async run(ctx) {
    const raw = ctx.args[0];
    const ref = raw === undefined ? undefined : parseSnapshotRef(raw, 'ls');
    return withStore(ctx, true, async (store) => {
      const snapshots = await store.snapshots();
      if (!ref) {
        if (ctx.out.json) for (const s of snapshots) await ctx.out.record(snapshotJson(s));
        else await ctx.out.text(...table(snapshots.map(snapshotRow), [2]));
        return ExitCode.Ok;
      }
      const snap = pickSnapshot(snapshots, ref.snapshot);
      const recursive = ctx.flags.bool('recursive');
      let first = true;
      for await (const entry of store.entries(snap.id, ref.path, recursive)) {
        // The first entry is the target itself: shown only when it is not a directory.
        const isTarget = first;
        first = false;
        if (isTarget && entry.type === 'directory') continue;
        if (ctx.out.json) await ctx.out.record(entryJson(entry));
        else await ctx.out.text(entryLine(entry));
      }
      return ExitCode.Ok;
    });
  },
};
