/** Human formatting of sizes, durations, rates and times. */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 1536 -> "1.5 KiB"; 0 -> "0 B". */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 1024) return `${Math.max(0, Math.round(n))} B`;
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${UNITS[u]}`;
}

/** Seconds as "1h02m03s", "2m05s", "4.2s". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const mm = String(m).padStart(2, '0');
  const ss = String(sec).padStart(2, '0');
  return h > 0 ? `${h}h${mm}m${ss}s` : `${m}m${ss}s`;
}

export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

/**
 * 1234567 -> "1,234,567". Not toLocaleString: its first call loads ICU's number formatting, about
 * 40 ms of a command's run time.
 */
export function formatCount(n: number): string {
  if (!Number.isInteger(n)) return String(n);
  const sign = n < 0 ? '-' : '';
  return sign + String(Math.abs(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Local time as "2025-01-31 13:45:07". */
export function formatTime(ms: number): string {
  const d = new Date(ms);
  const p = (x: number) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/**
 * `-rwxr-xr-x` style, from a type and POSIX mode bits. An entry without mode bits (an S3 object, or
 * a prefix the S3 source lists as a directory) shows its type and dashes, as `restic ls -l` does:
 * `----------`, `d---------` (-json tells them from mode 0: its `mode` is null).
 */
export function formatMode(type: string, mode: number | undefined): string {
  const t = type === 'directory' ? 'd' : type === 'symlink' ? 'l' : '-';
  if (mode === undefined) return `${t}---------`;
  const rwx = (bits: number) => `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${bits & 1 ? 'x' : '-'}`;
  return `${t}${rwx(mode >> 6)}${rwx(mode >> 3)}${rwx(mode)}`;
}

/** Pads columns of rows of cells to aligned text lines. */
export function table(rows: readonly (readonly string[])[], rightAlign: readonly number[] = []): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows.map((row) =>
    row
      .map((cell, i) => {
        const w = widths[i] ?? 0;
        if (i === row.length - 1 && !rightAlign.includes(i)) return cell;
        return rightAlign.includes(i) ? cell.padStart(w) : cell.padEnd(w);
      })
      .join('  ')
      .trimEnd(),
  );
}
