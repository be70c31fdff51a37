import { describe, expect, it } from 'vitest';
import { applyRetention, isEmptyPolicy, isoWeek, type RetentionPolicy } from '../src/snapshot/retention.ts';

interface Snap {
  readonly id: string;
  readonly time: number;
  readonly name: string;
  readonly tags: readonly string[];
}

const at = (iso: string, n = 0): Snap => ({
  id: `${n.toString(16).padStart(2, '0')}${'0'.repeat(62)}`,
  time: Date.parse(iso),
  name: 'x',
  tags: [],
});

/** The ISO times of the snapshots kept, newest first. */
function kept(snaps: readonly Snap[], policy: RetentionPolicy): string[] {
  return applyRetention(snaps, policy, 'utc')
    .filter((d) => d.keep)
    .map((d) => new Date(d.snapshot.time).toISOString().slice(0, 16));
}

/** Two snapshots a day (03:00 and 15:00 UTC) from 2024-01-01 for `days` days. */
function twiceDaily(days: number): Snap[] {
  const out: Snap[] = [];
  for (let d = 0; d < days; d++) {
    for (const h of [3, 15]) out.push(at(new Date(Date.UTC(2024, 0, 1 + d, h)).toISOString(), out.length));
  }
  return out;
}

describe('isoWeek', () => {
  const week = (iso: string) => isoWeek({ day: Math.floor(Date.parse(iso) / 86_400_000) });
  it('follows ISO 8601 at year boundaries', () => {
    expect(week('2019-12-30')).toBe(202001); // a Monday, in week 1 of 2020
    expect(week('2020-12-31')).toBe(202053);
    expect(week('2021-01-03')).toBe(202053); // a Sunday, still in 2020's last week
    expect(week('2021-01-04')).toBe(202101);
    expect(week('2024-01-01')).toBe(202401);
    expect(week('2024-12-29')).toBe(202452);
    expect(week('2024-12-30')).toBe(202501);
    expect(week('1969-12-31')).toBe(197001); // before the epoch
  });
});

describe('applyRetention (restic semantics, UTC periods)', () => {
  const snaps = twiceDaily(60); // 2024-01-01 .. 2024-02-29

  it('keep last N keeps the N newest', () => {
    expect(kept(snaps, { last: 3 })).toEqual(['2024-02-29T15:00', '2024-02-29T03:00', '2024-02-28T15:00']);
  });

  it('keep daily N keeps the newest of each of the last N days that have snapshots', () => {
    expect(kept(snaps, { daily: 3 })).toEqual(['2024-02-29T15:00', '2024-02-28T15:00', '2024-02-27T15:00']);
  });

  it('keep hourly counts hours, not snapshots', () => {
    expect(kept(snaps, { hourly: 2 })).toEqual(['2024-02-29T15:00', '2024-02-29T03:00']);
  });

  it('keep weekly uses ISO weeks (Monday to Sunday)', () => {
    // 2024-02-25 is a Sunday: the newest of its week; the week before ends on 2024-02-18.
    expect(kept(snaps, { weekly: 3 })).toEqual(['2024-02-29T15:00', '2024-02-25T15:00', '2024-02-18T15:00']);
  });

  it('keep monthly and yearly', () => {
    expect(kept(snaps, { monthly: 5 })).toEqual(['2024-02-29T15:00', '2024-01-31T15:00']);
    const years = [at('2022-06-01T00:00Z', 1), at('2023-03-01T00:00Z', 2), at('2023-09-01T00:00Z', 3)];
    expect(kept(years, { yearly: 2 })).toEqual(['2023-09-01T00:00', '2022-06-01T00:00']);
  });

  it('rules combine: a snapshot kept by any rule is kept, with every reason', () => {
    const decisions = applyRetention(snaps, { last: 1, daily: 2, weekly: 2, monthly: 2 }, 'utc');
    const keep = decisions.filter((d) => d.keep);
    expect(keep.map((d) => [new Date(d.snapshot.time).toISOString().slice(0, 13), d.reasons])).toEqual([
      ['2024-02-29T15', ['last', 'daily', 'weekly', 'monthly']],
      ['2024-02-28T15', ['daily']],
      ['2024-02-25T15', ['weekly']],
      ['2024-01-31T15', ['monthly']],
    ]);
    expect(decisions).toHaveLength(120);
    expect(decisions.filter((d) => !d.keep)).toHaveLength(116);
    expect(decisions.every((d) => d.keep === d.reasons.length > 0)).toBe(true);
  });

  it('empty periods do not count: daily 3 over sparse days keeps three days that have snapshots', () => {
    const sparse = [at('2024-01-01T10:00Z', 1), at('2024-01-10T10:00Z', 2), at('2024-01-20T10:00Z', 3)];
    expect(kept(sparse, { daily: 3 })).toHaveLength(3);
    expect(kept(sparse, { daily: 2 })).toEqual(['2024-01-20T10:00', '2024-01-10T10:00']);
  });

  it('ties in time are ordered by id, newest (highest id) first', () => {
    const a = at('2024-01-01T10:00Z', 1);
    const b = at('2024-01-01T10:00Z', 2);
    const d = applyRetention([a, b], { last: 1 }, 'utc');
    expect(d[0]!.snapshot).toBe(b);
    expect(d[0]!.keep).toBe(true);
    expect(d[1]!.keep).toBe(false);
  });

  it('local periods follow the time zone (TZ): two UTC days can be one local day', () => {
    const prev = process.env.TZ;
    const late = at('2024-01-01T23:30Z', 1);
    const early = at('2024-01-02T00:30Z', 2);
    try {
      process.env.TZ = 'Asia/Tokyo'; // UTC+9: both are on 2024-01-02, local time
      expect(applyRetention([late, early], { daily: 2 }, 'local').filter((d) => d.keep)).toHaveLength(1);
      expect(applyRetention([late, early], { daily: 2 }, 'utc').filter((d) => d.keep)).toHaveLength(2);
    } finally {
      if (prev === undefined) delete process.env.TZ;
      else process.env.TZ = prev;
    }
  });

  it('an empty policy is recognised', () => {
    expect(isEmptyPolicy({})).toBe(true);
    expect(isEmptyPolicy({ daily: 0, last: 0 })).toBe(true);
    expect(isEmptyPolicy({ yearly: 1 })).toBe(false);
  });
});
