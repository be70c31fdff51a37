/**
 * Retention policies, with restic's semantics (`restic forget --keep-*`): snapshots are walked
 * newest first; for each rule with N > 0, a snapshot is kept when its period (hour, day, ISO
 * week, month, year, or the snapshot itself for `last`) differs from the period of the last
 * snapshot that rule kept, until the rule has kept N. So each rule keeps the newest snapshot of
 * each of its N most recent periods that have snapshots (empty periods do not count). A snapshot
 * kept by any rule is kept; the others are removed.
 */
import { compareSnapshots, type Ordered } from './filter.ts';

/** How many snapshots each rule keeps. Absent or 0: the rule keeps nothing. */
export interface RetentionPolicy {
  /** The N newest snapshots. */
  readonly last?: number;
  /** The newest of each of the N most recent hours that have snapshots. */
  readonly hourly?: number;
  readonly daily?: number;
  /** ISO 8601 weeks (Monday to Sunday, the week-numbering year). */
  readonly weekly?: number;
  readonly monthly?: number;
  readonly yearly?: number;
}

/** The rules, in the order their reasons are listed. */
export const RETENTION_RULES = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;
export type RetentionRule = (typeof RETENTION_RULES)[number];

/** Whether periods are calendar periods in UTC or in the local time zone (restic: local). */
export type RetentionClock = 'utc' | 'local';

/** What the policy decided for one snapshot. */
export interface RetentionDecision<T> {
  readonly snapshot: T;
  readonly keep: boolean;
  /** The rules that keep it (empty when removed). */
  readonly reasons: readonly RetentionRule[];
}

/** True when no rule keeps anything: applying it would remove every snapshot. */
export function isEmptyPolicy(policy: RetentionPolicy): boolean {
  return RETENTION_RULES.every((r) => (policy[r] ?? 0) <= 0);
}

interface Parts {
  readonly y: number;
  readonly m: number;
  readonly d: number;
  readonly h: number;
  /** Days since the epoch of the calendar date (for ISO weeks). */
  readonly day: number;
}

function partsOf(ms: number, clock: RetentionClock): Parts {
  const t = new Date(ms);
  const [y, m, d, h] =
    clock === 'utc'
      ? [t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate(), t.getUTCHours()]
      : [t.getFullYear(), t.getMonth() + 1, t.getDate(), t.getHours()];
  return { y, m, d, h, day: Math.floor(Date.UTC(y, m - 1, d) / 86_400_000) };
}

/** ISO 8601 week as year * 100 + week: the week of the Thursday of the date's week. */
export function isoWeek(p: Pick<Parts, 'day'>): number {
  // 1970-01-01 was a Thursday: weekday 0 = Monday .. 6 = Sunday.
  const weekday = (((p.day + 3) % 7) + 7) % 7;
  const thursday = p.day - weekday + 3;
  const year = new Date(thursday * 86_400_000).getUTCFullYear();
  const jan1 = Math.floor(Date.UTC(year, 0, 1) / 86_400_000);
  return year * 100 + Math.floor((thursday - jan1) / 7) + 1;
}

function periodOf(rule: RetentionRule, p: Parts, index: number): number {
  switch (rule) {
    case 'last':
      return index;
    case 'hourly':
      return ((p.y * 100 + p.m) * 100 + p.d) * 100 + p.h;
    case 'daily':
      return (p.y * 100 + p.m) * 100 + p.d;
    case 'weekly':
      return isoWeek(p);
    case 'monthly':
      return p.y * 100 + p.m;
    case 'yearly':
      return p.y;
  }
}

/**
 * Applies `policy` to one group of snapshots. Returns one decision per snapshot, newest first.
 * An empty policy keeps nothing: callers refuse it before (see isEmptyPolicy).
 */
export function applyRetention<T extends Ordered>(
  snapshots: readonly T[],
  policy: RetentionPolicy,
  clock: RetentionClock = 'local',
): RetentionDecision<T>[] {
  const newestFirst = [...snapshots].sort((a, b) => compareSnapshots(b, a));
  const left = new Map<RetentionRule, number>(RETENTION_RULES.map((r) => [r, Math.max(0, policy[r] ?? 0)]));
  const lastPeriod = new Map<RetentionRule, number>();
  return newestFirst.map((snapshot, index) => {
    const parts = partsOf(snapshot.time, clock);
    const reasons: RetentionRule[] = [];
    for (const rule of RETENTION_RULES) {
      const n = left.get(rule)!;
      if (n === 0) continue;
      const period = periodOf(rule, parts, index);
      if (lastPeriod.get(rule) === period) continue;
      lastPeriod.set(rule, period);
      left.set(rule, n - 1);
      reasons.push(rule);
    }
    return { snapshot, keep: reasons.length > 0, reasons };
  });
}
