/**
 * Durations as users type them, in options (`retention=30d`) and on the command line (`-since 7d`):
 * numbers with units `s`, `m`, `h`, `d`, `w`, combined (`1d12h`).
 */
const UNIT_MS: Readonly<Record<string, number>> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

const DURATION = /^(?:\d+[smhdw])+$/;

/** A duration in ms, or undefined when `text` is not one (or too long to count in ms). */
export function durationMs(text: string): number | undefined {
  if (!DURATION.test(text)) return undefined;
  let total = 0;
  for (const m of text.matchAll(/(\d+)([smhdw])/g)) total += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? 0);
  return Number.isSafeInteger(total) ? total : undefined;
}
