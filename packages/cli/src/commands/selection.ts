/** Choosing the snapshots of a command from its SNAPSHOT arguments and filter flags. */
import { describeFilterView, filterFromFlags, isEmptyFilterView } from '../args/snapshot-selection.ts';
import type { OpenStore, SnapshotFilterView, SnapshotView } from '../engine/engine.ts';
import { CliError, UsageError } from '../errors.ts';
import type { CommandContext } from './command.ts';
import { sourceFilter } from './source-filter.ts';

/**
 * The filter flags of the command line, checked (bad dates are usage errors), `-source` resolved
 * (an unknown @NAME is an error, as everywhere).
 */
export async function commandFilter(ctx: CommandContext, command: string): Promise<SnapshotFilterView> {
  const filter = filterFromFlags(ctx.flags, command);
  const source = ctx.flags.string('source');
  if (source === undefined) return filter;
  return { ...filter, source: await sourceFilter(ctx.services, source) };
}

/** Refuses filter flags where the command has no snapshot to apply them to. */
export function refuseFilter(filter: SnapshotFilterView, command: string, why: string): void {
  if (!isEmptyFilterView(filter)) throw new UsageError(`${command}: ${why}`, command);
}

/**
 * The snapshots named by `refs` (each one snapshot) or, without refs, every snapshot matching the
 * filter. With `required`, an empty result is an error naming the filter. Headers that cannot be
 * read are left out, and passed to `onUnreadable` when given.
 */
export async function selectSnapshots(
  store: OpenStore,
  refs: readonly string[],
  filter: SnapshotFilterView,
  required: boolean,
  onUnreadable?: (id: string, reason: string) => void,
): Promise<SnapshotView[]> {
  const found = await store.select({ refs, filter, ...(onUnreadable ? { onUnreadable } : {}) });
  if (found.length === 0 && required) {
    throw new CliError(
      isEmptyFilterView(filter)
        ? 'the store has no snapshot'
        : `no snapshot matches the filter (${describeFilterView(filter)})`,
    );
  }
  return found;
}

/**
 * The one snapshot `ref` names among those matching the filter. Headers that cannot be read are
 * never left out silently: each is named through `warn` (it might have been `latest`, or matched).
 */
export async function selectOne(
  store: OpenStore,
  ref: string,
  filter: SnapshotFilterView,
  warn: (line: string) => unknown,
): Promise<SnapshotView> {
  const unreadable: { id: string; reason: string }[] = [];
  const [snap] = await selectSnapshots(store, [ref], filter, true, (id, reason) =>
    unreadable.push({ id, reason }),
  );
  for (const u of unreadable) {
    await warn(
      `snapshot ${u.id} cannot be read (${u.reason}): left out when choosing ${ref}; run 'kloset check'`,
    );
  }
  return snap!;
}
