import { describe, expect, it } from 'vitest';
import { parseFlags } from '../src/args/flags.ts';
import { filterFromFlags, SELECTION_FLAGS } from '../src/args/snapshot-selection.ts';
import { durationMs, parseDuration, parseTimeSpec, timeSpecMs } from '../src/args/time-spec.ts';

const NOW = Date.UTC(2025, 5, 15, 12, 0, 0);

describe('durations and times', () => {
  it('parses durations with units, combined', () => {
    expect(durationMs('30s')).toBe(30_000);
    expect(durationMs('15m')).toBe(900_000);
    expect(durationMs('12h')).toBe(43_200_000);
    expect(durationMs('7d')).toBe(7 * 86_400_000);
    expect(durationMs('2w')).toBe(14 * 86_400_000);
    expect(durationMs('1d12h')).toBe(36 * 3_600_000);
    for (const bad of ['', '7', 'd', '7x', '-7d', '1.5h', '7 d', 'h7'])
      expect(durationMs(bad)).toBeUndefined();
    expect(() => parseDuration('soon', 'grace', 'maintenance')).toThrow(
      'maintenance: -grace "soon" is not a duration (e.g. 30m, 12h, 7d, 2w, 1d12h)',
    );
  });

  it('parses ISO dates (local), date-times (local, Z or offset) and durations ago', () => {
    expect(timeSpecMs('7d', NOW)).toBe(NOW - 7 * 86_400_000);
    expect(timeSpecMs('2025-01-31', NOW)).toBe(new Date(2025, 0, 31).getTime());
    expect(timeSpecMs('2025-01-31T13:45', NOW)).toBe(new Date(2025, 0, 31, 13, 45).getTime());
    expect(timeSpecMs('2025-01-31 13:45:07', NOW)).toBe(new Date(2025, 0, 31, 13, 45, 7).getTime());
    expect(timeSpecMs('2025-01-31T13:45:07.5Z', NOW)).toBe(Date.UTC(2025, 0, 31, 13, 45, 7, 500));
    // RFC 3339 (date --rfc-3339=ns): the fraction is cut to milliseconds.
    expect(timeSpecMs('2025-01-31 13:45:07.123456789+00:00', NOW)).toBe(
      Date.UTC(2025, 0, 31, 13, 45, 7, 123),
    );
    expect(timeSpecMs('2025-01-31T13:45+02:00', NOW)).toBe(Date.UTC(2025, 0, 31, 11, 45));
    expect(timeSpecMs('2025-01-31T13:45-0130', NOW)).toBe(Date.UTC(2025, 0, 31, 15, 15));
    for (const bad of [
      '2025-02-30',
      '2025-13-01',
      '2025-01-31T24:00',
      '31/01/2025',
      'yesterday',
      '2025-1-3',
    ]) {
      expect(timeSpecMs(bad, NOW), bad).toBeUndefined();
    }
    expect(() => parseTimeSpec('yesterday', NOW, 'since', 'ls')).toThrow(
      /^ls: -since "yesterday" is neither a date \(2025-01-31/,
    );
  });

  it('builds the filter of the selection flags, refusing an empty range', () => {
    const flags = (argv: string[]) => parseFlags(argv, SELECTION_FLAGS, 'ls').flags;
    expect(
      filterFromFlags(flags(['-tag', 'a,b', '-tag', 'c', '-name', 'www', '-since', '2d']), 'ls', NOW),
    ).toEqual({
      tags: ['a', 'b', 'c'],
      name: 'www',
      since: NOW - 2 * 86_400_000,
    });
    expect(filterFromFlags(flags([]), 'ls', NOW)).toEqual({ tags: [] });
    expect(() => filterFromFlags(flags(['-since', '1d', '-before', '2d']), 'ls', NOW)).toThrow(
      /-since 1d is not before -before 2d: no snapshot can match/,
    );
    expect(() => filterFromFlags(flags(['-before', 'later']), 'rm', NOW)).toThrow(/^rm: -before "later"/);
  });
});
