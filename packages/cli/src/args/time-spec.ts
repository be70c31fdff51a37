/**
 * Times and durations on the command line:
 *
 * - a duration: numbers with units, `30s`, `15m`, `12h`, `7d`, `2w`, combined (`1d12h`);
 * - a point in time (`-since`, `-before`, `-as-of`): an ISO 8601 date `2025-01-31` (local
 *   midnight), a date and time `2025-01-31T13:45[:07[.123]]` (local time; a space may replace the
 *   `T`; digits beyond milliseconds are cut), the same with `Z` or an offset `+02:00` (RFC 3339),
 *   or a duration meaning that long ago (`7d`: 7 days ago).
 */
import { durationMs } from '@kloset/connector-contract';
import { UsageError } from '../errors.ts';
import type { ParsedFlags } from './flags.ts';

export { durationMs };

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** Parses a duration flag value; a bad one is a usage error naming the flag. */
export function parseDuration(text: string, flag: string, command: string): number {
  const ms = durationMs(text);
  if (ms === undefined) {
    throw new UsageError(
      `${command}: -${flag} ${JSON.stringify(text)} is not a duration (e.g. 30m, 12h, 7d, 2w, 1d12h)`,
      command,
    );
  }
  return ms;
}

function validDate(y: number, mo: number, d: number): boolean {
  const t = new Date(Date.UTC(y, mo - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d;
}

/** A point in time (Unix ms) from an ISO date or a duration ago, or undefined when it is neither. */
export function timeSpecMs(text: string, now: number): number | undefined {
  const ago = durationMs(text);
  if (ago !== undefined) return now - ago;
  const date = DATE.exec(text);
  if (date) {
    const [y, mo, d] = [Number(date[1]), Number(date[2]), Number(date[3])];
    return validDate(y, mo, d) ? new Date(y, mo - 1, d).getTime() : undefined;
  }
  const dt = DATE_TIME.exec(text);
  if (!dt) return undefined;
  const [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(dt[i] ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (!validDate(y, mo, d) || h > 23 || mi > 59 || s > 59) return undefined;
  const zone = dt[8];
  // Fractions beyond milliseconds (RFC 3339 allows any number of digits) are cut.
  const ms = Number((dt[7] ?? '0').slice(0, 3).padEnd(3, '0'));
  if (zone === undefined) return new Date(y, mo - 1, d, h, mi, s, ms).getTime();
  const utc = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  if (zone === 'Z') return utc;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const offset = (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
  return utc - sign * offset;
}

/** Parses a -since / -before value; a bad one is a usage error naming the flag. */
export function parseTimeSpec(text: string, now: number, flag: string, command: string): number {
  const ms = timeSpecMs(text, now);
  if (ms === undefined) {
    throw new UsageError(
      `${command}: -${flag} ${JSON.stringify(text)} is neither a date (2025-01-31, 2025-01-31T13:45, ` +
        '2025-01-31T13:45:00Z) nor a duration ago (7d, 12h, 1d12h)',
      command,
    );
  }
  return ms;
}

/** The -as-of flag (common-flags.ts) as an instant, undefined when absent; a bad one is a usage error. */
export function asOfFlag(flags: ParsedFlags, command: string, now = Date.now()): number | undefined {
  const text = flags.string('as-of');
  return text === undefined ? undefined : parseTimeSpec(text, now, 'as-of', command);
}
