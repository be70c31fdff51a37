import { AS_OF_FLAG } from '../args/common-flags.ts';
/** `find`: which snapshots hold a path matching a glob PATTERN, and which paths. */
import { compilePathGlob } from '../args/path-glob.ts';
import { parseSnapshotRef, shortId } from '../args/snapshot-ref.ts';
import { SELECTION_FLAGS } from '../args/snapshot-selection.ts';
import { ExitCode } from '../exit-codes.ts';
import { formatCount, formatTime } from '../output/format.ts';
import type { Command } from './command.ts';
import { commandFilter, selectSnapshots } from './selection.ts';
import { entryLine, isoTime } from './views.ts';
import { withStore } from './with-store.ts';

export const findCommand: Command = {
  words: ['find'],
  summary: 'find the snapshots that hold paths matching a pattern',
  description:
    'Lists the entries (files, directories, symlinks; objects of a bucket) whose path matches the\n' +
    'glob PATTERN, in every snapshot matching -tag, -name, -source, -since and -before, or in the\n' +
    'SNAPSHOTs given, oldest snapshot first and in path order within each. PATTERN, as in backup\n' +
    '-exclude: "*" any characters but "/", "?" one character but "/", "**" as a whole component any\n' +
    'number of components ("/a/**/b" matches /a/b and /a/x/y/b), "[abc]", "[a-z]", "[!abc]" one\n' +
    'character of (or not of) a set, "\\x" the character x. A PATTERN without "/" matches the base\n' +
    'name of an entry at any depth; one with "/" matches its whole path from the root; one ending\n' +
    'with "/" directories only. Quote it, so that the shell leaves it be.\n' +
    'Each snapshot is read as a stream: memory does not grow with its size. Snapshots without a\n' +
    'match are not shown; when nothing matches, a note says so on stderr (exit 0). A snapshot\n' +
    'header that cannot be read is named on stderr and the command exits with 4.',
  usesStore: true,
  flags: [...SELECTION_FLAGS, AS_OF_FLAG],
  args: [
    { name: 'PATTERN', required: true, description: 'a glob: "*.txt", "/home/*/notes", "**/.git"' },
    { name: 'SNAPSHOT', required: false, variadic: true, description: 'snapshot id prefixes or "latest"' },
  ],
  json: 'one line per match {"snapshot", "path", "type", "size", "mtime"}',
  examples: [
    "kloset find '*.pdf'",
    "kloset find -tag daily '/etc/**/*.conf'",
    "kloset find 'notes.txt' latest",
  ],
  async run(ctx) {
    const glob = compilePathGlob(ctx.args[0]!, 'find');
    const refs = ctx.args.slice(1).map((a) => parseSnapshotRef(a, 'find').snapshot);
    const filter = await commandFilter(ctx, 'find');
    return withStore(ctx, true, async (store) => {
      const unreadable: { id: string; reason: string }[] = [];
      const snapshots = await selectSnapshots(store, refs, filter, true, (id, reason) =>
        unreadable.push({ id, reason }),
      );
      let matches = 0;
      let holding = 0;
      for (const snap of snapshots) {
        let found = 0;
        for await (const entry of store.entries(snap.id, '/', true)) {
          if (!glob.matches(entry.path, entry.type === 'directory')) continue;
          if (found++ === 0) {
            // A blank line between snapshots (text prints nothing with -json).
            if (matches > 0) await ctx.out.text('');
            await ctx.out.text(`snapshot ${shortId(snap.id)}  ${formatTime(snap.time)}  ${snap.name}`);
          }
          matches++;
          await ctx.out.record({
            snapshot: snap.id,
            path: entry.path,
            type: entry.type,
            size: entry.size,
            mtime: isoTime(entry.mtime.sec * 1000 + Math.floor(entry.mtime.nsec / 1e6)),
          });
          await ctx.out.text(`  ${entryLine(entry)}`);
        }
        if (found > 0) holding++;
      }
      if (matches === 0) {
        await ctx.out.note(
          `no path matches ${JSON.stringify(glob.pattern)} in ${formatCount(snapshots.length)} snapshot${snapshots.length === 1 ? '' : 's'}`,
        );
      } else if (!ctx.out.json) {
        await ctx.out.text(
          '',
          `${formatCount(matches)} match${matches === 1 ? '' : 'es'} in ${formatCount(holding)} of ${formatCount(snapshots.length)} snapshot${snapshots.length === 1 ? '' : 's'}`,
        );
      }
      for (const u of unreadable) {
        await ctx.out.warn(`snapshot ${u.id}: cannot be read: ${u.reason} (run 'kloset check')`);
      }
      return unreadable.length > 0 ? ExitCode.Integrity : ExitCode.Ok;
    });
  },
};
