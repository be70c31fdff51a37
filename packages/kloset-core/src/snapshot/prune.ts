/**
 * `prune`: applies a retention policy (retention.ts) to the snapshots of a store, per source
 * (same protocol, origin and root) by default, and deletes the headers of the snapshots no rule
 * keeps, under an exclusive lock (FORMAT.md §9). The data they alone used stays until
 * maintenance. Snapshots outside the filter are neither kept nor removed: they are not looked at.
 * Unreadable headers are never removed.
 */
import type { SourceInfo } from '@kloset/connector-contract';
import { acquireLock } from '../repository/locks.ts';
import type { ResourceStore } from '../repository/resource-store.ts';
import { matchesFilter, type SnapshotFilter } from './filter.ts';
import type { SnapshotHeader } from './header.ts';
import {
  applyRetention,
  isEmptyPolicy,
  type RetentionClock,
  type RetentionPolicy,
  type RetentionRule,
} from './retention.ts';
import { listSnapshots } from './snapshots.ts';

/** How snapshots are grouped before the policy applies to each group. */
export type PruneGrouping = 'source' | 'none';

export interface PruneOptions {
  readonly policy: RetentionPolicy;
  /** Only these snapshots are considered. */
  readonly filter?: SnapshotFilter;
  /** Default `source`: the policy applies to the snapshots of each source separately. */
  readonly groupBy?: PruneGrouping;
  /** Calendar periods in UTC or local time (default local, like restic). */
  readonly clock?: RetentionClock;
  /** Decide and report, delete nothing (takes no lock). */
  readonly dryRun?: boolean;
  /** Called for each header that cannot be read (it is kept). */
  readonly onUnreadable?: (id: string, error: string) => void;
  /** Lock behaviour overrides (tests). */
  readonly lock?: { readonly staleAfterMs?: number; readonly refreshIntervalMs?: number };
}

/** A snapshot the policy keeps, and the rules that keep it. */
export interface PruneKept {
  readonly header: SnapshotHeader;
  readonly reasons: readonly RetentionRule[];
}

/** The decisions for one group, newest first. */
export interface PruneGroup {
  /** The group's source (undefined when not grouped). */
  readonly source: SourceInfo | undefined;
  readonly keep: readonly PruneKept[];
  readonly remove: readonly SnapshotHeader[];
}

export interface PruneResult {
  readonly groups: readonly PruneGroup[];
  readonly kept: number;
  readonly removed: number;
  readonly dryRun: boolean;
}

/** The policy has no rule: it would remove every snapshot, so it is refused. */
export class EmptyRetentionPolicyError extends Error {
  override readonly name = 'EmptyRetentionPolicyError';
  constructor() {
    super('prune needs a retention policy (keep last, hourly, daily, weekly, monthly or yearly)');
  }
}

function groupKey(h: SnapshotHeader, groupBy: PruneGrouping): string {
  return groupBy === 'none' ? '' : JSON.stringify([h.source.protocol, h.source.origin, h.source.root]);
}

/** Decides, per group, which snapshots the policy keeps (pure). */
export function planPrune(
  headers: readonly SnapshotHeader[],
  options: Pick<PruneOptions, 'policy' | 'filter' | 'groupBy' | 'clock'>,
): PruneGroup[] {
  if (isEmptyPolicy(options.policy)) throw new EmptyRetentionPolicyError();
  const groupBy = options.groupBy ?? 'source';
  const groups = new Map<string, SnapshotHeader[]>();
  for (const h of headers) {
    if (options.filter !== undefined && !matchesFilter(h, options.filter)) continue;
    const key = groupKey(h, groupBy);
    const list = groups.get(key);
    if (list) list.push(h);
    else groups.set(key, [h]);
  }
  const out: PruneGroup[] = [];
  for (const [key, list] of [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const decisions = applyRetention(list, options.policy, options.clock ?? 'local');
    out.push({
      source: key === '' ? undefined : list[0]!.source,
      keep: decisions.filter((d) => d.keep).map((d) => ({ header: d.snapshot, reasons: d.reasons })),
      remove: decisions.filter((d) => !d.keep).map((d) => d.snapshot),
    });
  }
  return out;
}

/** Applies the policy to the store (see the module comment). */
export async function prune(store: ResourceStore, options: PruneOptions): Promise<PruneResult> {
  if (isEmptyPolicy(options.policy)) throw new EmptyRetentionPolicyError();
  const dryRun = options.dryRun ?? false;
  const lock = dryRun ? undefined : await acquireLock(store, { exclusive: true, ...options.lock });
  try {
    // Read under the lock: no snapshot can appear or go while we decide.
    const headers = await listSnapshots(store, options.onUnreadable ?? (() => undefined));
    const groups = planPrune(headers, options);
    let kept = 0;
    let removed = 0;
    for (const g of groups) {
      kept += g.keep.length;
      for (const h of g.remove) {
        if (!dryRun) await store.deleteResource('snapshot', h.id);
        removed++;
      }
    }
    return { groups, kept, removed, dryRun };
  } finally {
    await lock?.release();
  }
}
