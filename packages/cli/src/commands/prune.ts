import type { FlagSpec, ParsedFlags } from '../args/flags.ts';
import { shortId } from '../args/snapshot-ref.ts';
import { SELECTION_FLAGS } from '../args/snapshot-selection.ts';
import type { PruneGroupView, RetentionPolicyView, SnapshotView } from '../engine/engine.ts';
import { UsageError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';
import { formatCount, formatTime } from '../output/format.ts';
import type { JsonObject } from '../output/json.ts';
import type { Command } from './command.ts';
import { commandFilter } from './selection.ts';
import { isoTime } from './views.ts';
import { withStore } from './with-store.ts';

const RULES = [
  ['last', 'the N newest snapshots'],
  ['hourly', 'the newest snapshot of each of the last N hours that have one'],
  ['daily', 'the newest snapshot of each of the last N days that have one'],
  ['weekly', 'the newest snapshot of each of the last N ISO weeks (Monday-Sunday) that have one'],
  ['monthly', 'the newest snapshot of each of the last N months that have one'],
  ['yearly', 'the newest snapshot of each of the last N years that have one'],
] as const;

const KEEP_FLAGS: readonly FlagSpec[] = RULES.map(([rule, what]) => ({
  name: `keep-${rule}`,
  kind: 'string',
  value: 'N',
  description: `keep ${what}`,
}));

function policyFromFlags(flags: ParsedFlags): RetentionPolicyView {
  const policy: Record<string, number> = {};
  for (const [rule] of RULES) {
    const raw = flags.string(`keep-${rule}`);
    if (raw === undefined) continue;
    if (!/^\d+$/.test(raw) || Number(raw) < 1 || !Number.isSafeInteger(Number(raw))) {
      throw new UsageError(
        `prune: -keep-${rule} takes a positive whole number, not ${JSON.stringify(raw)}`,
        'prune',
      );
    }
    policy[rule] = Number(raw);
  }
  if (Object.keys(policy).length === 0) {
    throw new UsageError(
      'prune: give a retention policy: -keep-last, -keep-hourly, -keep-daily, -keep-weekly, -keep-monthly or -keep-yearly N',
      'prune',
    );
  }
  return policy;
}

function brief(s: SnapshotView): JsonObject {
  return { id: s.id, short_id: shortId(s.id), time: isoTime(s.time), name: s.name, tags: [...s.tags] };
}

function groupJson(g: PruneGroupView): JsonObject {
  return {
    source: g.source ? { ...g.source } : null,
    keep: g.keep.map((k) => ({ ...brief(k.snapshot), reasons: [...k.reasons] })),
    remove: g.remove.map(brief),
  };
}

function groupLines(g: PruneGroupView, dryRun: boolean): string[] {
  const src = g.source ? `${g.source.protocol}://${g.source.origin}${g.source.root}` : 'all snapshots';
  const row = (s: SnapshotView) => `${shortId(s.id)}  ${formatTime(s.time)}  ${s.name}`;
  return [
    `${src}: keep ${formatCount(g.keep.length)}, ${dryRun ? 'would remove' : 'remove'} ${formatCount(g.remove.length)}`,
    ...g.keep.map((k) => `  keep    ${row(k.snapshot)}  (${k.reasons.join(', ')})`),
    ...g.remove.map((s) => `  ${dryRun ? 'would remove' : 'remove'}  ${row(s)}`),
  ];
}

export const pruneCommand: Command = {
  words: ['prune'],
  summary: 'remove the snapshots a retention policy does not keep',
  description:
    'Applies the retention policy to the snapshots of each source (same protocol, origin and\n' +
    'root; -group-by none: to all together), as restic does: each -keep-* rule keeps the newest\n' +
    'snapshot of each of its N most recent periods that have snapshots (hours, days, ISO weeks,\n' +
    'months, years in local time; set TZ to change), -keep-last the N newest. A snapshot kept by\n' +
    'any rule stays; the others are removed (their headers, under an exclusive lock; the data\n' +
    'goes with maintenance). With -tag, -name, -source, -since or -before, only matching snapshots are\n' +
    'considered and the others are left alone. -dry-run shows the decision and removes nothing.',
  usesStore: true,
  flags: [
    ...KEEP_FLAGS,
    {
      name: 'group-by',
      kind: 'string',
      value: 'source|none',
      description: 'apply the policy per source (default) or to all snapshots together',
    },
    { name: 'dry-run', kind: 'boolean', description: 'show what would be kept and removed, remove nothing' },
    ...SELECTION_FLAGS,
  ],
  args: [],
  json: '{"dry_run", "kept", "removed", "groups": [{"source", "keep": [{"id", "short_id", "time", "name", "tags", "reasons"}], "remove": [...]}]}',
  examples: [
    'kloset prune -keep-daily 7 -keep-weekly 4 -keep-monthly 12',
    'kloset prune -keep-last 3 -tag nightly -dry-run',
  ],
  async run(ctx) {
    const policy = policyFromFlags(ctx.flags);
    const groupBy = ctx.flags.string('group-by') ?? 'source';
    if (groupBy !== 'source' && groupBy !== 'none') {
      throw new UsageError(`prune: -group-by takes source or none, not ${JSON.stringify(groupBy)}`, 'prune');
    }
    const filter = await commandFilter(ctx, 'prune');
    const dryRun = ctx.flags.bool('dry-run');
    return withStore(ctx, dryRun, async (store) => {
      const outcome = await store.prune({
        policy,
        filter,
        groupBy,
        dryRun,
        onUnreadable: (id, error) =>
          void ctx.out.warn(`prune: snapshot ${shortId(id)} kept, it cannot be read: ${error}`),
      });
      await ctx.out.result(
        {
          dry_run: outcome.dryRun,
          kept: outcome.kept,
          removed: outcome.removed,
          groups: outcome.groups.map(groupJson),
        },
        () => [
          ...outcome.groups.flatMap((g) => groupLines(g, dryRun)),
          `${dryRun ? 'dry run: would keep' : 'kept'} ${formatCount(outcome.kept)} snapshots, ` +
            `${dryRun ? 'would remove' : 'removed'} ${formatCount(outcome.removed)}` +
            (outcome.removed > 0 && !dryRun ? ' (run maintenance to reclaim their space)' : ''),
        ],
      );
      return ExitCode.Ok;
    });
  },
};
