/** The progress line: totals and an ETA once known, a lower bound with `+` before, neither without. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { etaMs, renderProgress, TerminalProgress } from '../src/output/progress.ts';

describe('renderProgress', () => {
  it('shows counts and rate only when nothing is known of the totals', () => {
    expect(renderProgress('backup', { entries: 1500, bytes: 2048 }, 2000)).toBe(
      'backup: 1,500 entries, 2.00 KiB, 1.00 KiB/s',
    );
  });

  it('shows the lower bound with a + and no ETA while the scan runs', () => {
    const line = renderProgress(
      'backup',
      { entries: 1200, bytes: 10 * 1024 * 1024, scannedEntries: 3000, scannedBytes: 20 * 1024 * 1024 },
      2000,
    );
    expect(line).toBe('backup: 1,200/3,000+ entries, 10.0 MiB/20.0 MiB+, 5.00 MiB/s');
  });

  it('never shows a lower bound below what is done', () => {
    expect(
      renderProgress('backup', { entries: 10, bytes: 0, scannedEntries: 4, scannedBytes: 0 }, 1000),
    ).toBe('backup: 10/10+ entries, 0 B/0 B+, 0 B/s');
  });

  it('shows totals and the ETA at the rate so far once they are known', () => {
    const line = renderProgress(
      'backup',
      { entries: 1200, bytes: 10 * 1024 * 1024, totalEntries: 5000, totalBytes: 40 * 1024 * 1024, errors: 2 },
      2000,
    );
    // 30 MiB left at 5 MiB/s.
    expect(line).toBe('backup: 1,200/5,000 entries, 10.0 MiB/40.0 MiB, 5.00 MiB/s, ETA 6.0s, 2 errors');
  });

  it('takes the ETA from the entries when the total holds no bytes', () => {
    const line = renderProgress('backup', { entries: 100, bytes: 0, totalEntries: 400, totalBytes: 0 }, 1000);
    expect(line).toBe('backup: 100/400 entries, 0 B/0 B, 0 B/s, ETA 3.0s');
  });
});

describe('etaMs', () => {
  it('is unknown without totals or before any progress', () => {
    expect(etaMs({ entries: 5, bytes: 5, scannedEntries: 9, scannedBytes: 9 }, 1000)).toBeUndefined();
    expect(etaMs({ entries: 0, bytes: 0, totalEntries: 9, totalBytes: 9 }, 1000)).toBeUndefined();
    expect(etaMs({ entries: 1, bytes: 1, totalEntries: 9, totalBytes: 9 }, 0)).toBeUndefined();
  });

  it('is 0 when done, never negative when more was read than listed', () => {
    expect(etaMs({ entries: 9, bytes: 9, totalEntries: 9, totalBytes: 9 }, 1000)).toBe(0);
    expect(etaMs({ entries: 9, bytes: 12, totalEntries: 9, totalBytes: 9 }, 1000)).toBe(0);
  });
});

describe('TerminalProgress', () => {
  it('draws the latest state in place and clears its line when stopped', async () => {
    const stream = new PassThrough();
    let written = '';
    stream.on('data', (d: Buffer) => {
      written += d.toString();
    });
    const progress = new TerminalProgress(stream, 'backup');
    progress.update({ entries: 3, bytes: 0, totalEntries: 6, totalBytes: 0 });
    await new Promise((r) => setTimeout(r, 400));
    progress.stop();
    await new Promise((r) => setImmediate(r));
    expect(written.startsWith('\r\x1b[Kbackup: 3/6 entries, 0 B/0 B, 0 B/s, ETA ')).toBe(true);
    expect(written.endsWith('\r\x1b[K')).toBe(true);
  });
});
