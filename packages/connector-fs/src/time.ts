/** Conversions between Node's nanosecond times and contract Timestamps. */
import type { Timestamp } from '@kloset/connector-contract';

const NS = 1_000_000_000n;

/** A Timestamp from nanoseconds since the epoch (negative times keep 0 <= nsec < 1e9). */
export function timestampFromNs(ns: bigint): Timestamp {
  let sec = ns / NS;
  let nsec = ns % NS;
  if (nsec < 0n) {
    nsec += NS;
    sec -= 1n;
  }
  return { sec: Number(sec), nsec: Number(nsec) };
}

/** Nanoseconds since the epoch of a Timestamp. */
export function nsFromTimestamp(t: Timestamp): bigint {
  return BigInt(t.sec) * NS + BigInt(t.nsec);
}

/**
 * Seconds as a number, for fs.utimes: Node offers no nanosecond API to set times, and a double
 * keeps about a quarter of a microsecond around today's times, so times round-trip to the µs.
 */
export function utimesSeconds(t: Timestamp): number {
  return t.sec + t.nsec / 1e9;
}
