import { AS_OF_FLAG } from '../args/common-flags.ts';
import { parseSnapshotRef, shortId } from '../args/snapshot-ref.ts';
import { isEmptyFilterView, SELECTION_FLAGS } from '../args/snapshot-selection.ts';
import type { CheckProblem } from '../engine/engine.ts';
import { ExitCode } from '../exit-codes.ts';
import { formatCount } from '../output/format.ts';
import type { JsonObject } from '../output/json.ts';
import type { Command } from './command.ts';
import { commandFilter, selectSnapshots } from './selection.ts';
import { MAX_LISTED } from './views.ts';
import { withStore } from './with-store.ts';

function problemLine(p: CheckProblem): string {
  const where = p.snapshotId
    ? `${shortId(p.snapshotId)}${p.path ? `:${p.path}` : ''}: `
    : p.path
      ? `${p.path}: `
      : '';
  return `${p.kind}: ${where}${p.message}`;
}

function problemJson(p: CheckProblem): JsonObject {
  return { kind: p.kind, snapshot: p.snapshotId ?? null, path: p.path ?? null, message: p.message };
}

export const checkCommand: Command = {
  words: ['check'],
  summary: 'verify snapshots: every block read and verified (or -fast: present)',
  description:
    'Checks the given snapshots (default: all, or all matching the filters). Every block a snapshot uses is read, decrypted and\n' +
    'its MAC verified; with -fast, only its presence in the index and its packfile is checked.\n' +
    'Each problem is printed with the affected snapshot and file; any problem exits with 4.',
  usesStore: true,
  flags: [
    { name: 'fast', kind: 'boolean', description: 'check presence only, do not read the data' },
    ...SELECTION_FLAGS,
    AS_OF_FLAG,
  ],
  args: [
    { name: 'SNAPSHOT', required: false, variadic: true, description: 'snapshot id prefixes or "latest"' },
  ],
  json: '{"ok", "fast", "snapshots", "entries", "blobs", "problems": [{"kind", "snapshot", "path", "message"}] (first 1000), "problem_count"}',
  examples: ['kloset check', 'kloset check -fast latest', 'kloset check -since 1d'],
  async run(ctx) {
    const refs = ctx.args.map((a) => parseSnapshotRef(a, 'check').snapshot);
    const fast = ctx.flags.bool('fast');
    const filter = await commandFilter(ctx, 'check');
    return withStore(
      ctx,
      true,
      async (store) => {
        // No reference and no filter: every snapshot (the engine then also reports unreadable headers).
        const all = refs.length === 0 && isEmptyFilterView(filter);
        const ids = all ? [] : (await selectSnapshots(store, refs, filter, true)).map((s) => s.id);
        const problems: CheckProblem[] = [];
        let problemCount = 0;
        const progress = ctx.out.progress('check');
        let outcome: Awaited<ReturnType<typeof store.check>>;
        try {
          outcome = await store.check({
            snapshotIds: ids,
            fast,
            signal: ctx.io.signal,
            onProgress: (e) => progress.update(e),
            onProblem: (p) => {
              problemCount++;
              if (problems.length < MAX_LISTED) problems.push(p);
              if (!ctx.out.json) void ctx.out.warn(`check: ${problemLine(p)}`);
            },
          });
        } finally {
          progress.stop();
        }
        const count = Math.max(problemCount, outcome.problems);
        await ctx.out.result(
          {
            ok: count === 0,
            fast,
            snapshots: outcome.snapshots,
            entries: outcome.entries,
            blobs: outcome.blobs,
            problems: problems.map(problemJson),
            problem_count: count,
            unindexed_packfiles: outcome.unindexedPackfiles,
            cache_rebuilt: outcome.cacheRebuilt ?? null,
          },
          () => [
            `check${fast ? ' -fast' : ''}: ${formatCount(outcome.snapshots)} snapshots, ${formatCount(outcome.entries)} entries, ` +
              `${formatCount(outcome.blobs)} blobs: ${count === 0 ? 'ok' : `${formatCount(count)} problems`}`,
          ],
        );
        if (outcome.cacheRebuilt !== undefined) {
          await ctx.out.warn(
            `the local index cache was wrong (${outcome.cacheRebuilt}): set aside and rebuilt from the store; the store is not at fault`,
          );
        }
        if (outcome.unindexedPackfiles > 0) {
          await ctx.out.warn(
            `${formatCount(outcome.unindexedPackfiles)} packfiles in the store are indexed by no state ` +
              "(left by interrupted backups: 'kloset maintenance' removes them; or by a lost state: 'kloset repair' indexes them)",
          );
        }
        if (count > 0) {
          await ctx.out.warn(
            `check found ${formatCount(count)} problem${count === 1 ? '' : 's'}: ` +
              "run 'kloset repair' to rebuild what the packfiles still hold and mark what is lost; the next backup stores lost files again",
          );
          return ExitCode.Integrity;
        }
        return ExitCode.Ok;
      },
      undefined,
      undefined,
      { damageReported: true },
    );
  },
};
