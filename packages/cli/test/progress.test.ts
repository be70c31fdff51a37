/** The progress line: totals and an ETA once known, a lower bound with `+` before, neither without. */
import { PassThrough, Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Io } from '../src/io/io.ts';
import { Output, type OutputMode } from '../src/output/output.ts';
import {
  etaMs,
  JsonProgress,
  progressEvent,
  renderProgress,
  TerminalProgress,
} from '../src/output/progress.ts';

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

describe('progressEvent (-json-progress)', () => {
  const MiB = 1024 * 1024;

  it('has null totals, the scan bounds and no ETA while a backup scan runs', () => {
    const e = progressEvent(
      'backup',
      { entries: 1200, bytes: 10 * MiB, scannedEntries: 3000, scannedBytes: 20 * MiB },
      2000.4,
      false,
    );
    expect(e).toEqual({
      type: 'progress',
      command: 'backup',
      elapsed_ms: 2000,
      entries: 1200,
      bytes: 10 * MiB,
      total_entries: null,
      total_bytes: null,
      scanned_entries: 3000,
      scanned_bytes: 20 * MiB,
      eta_seconds: null,
      rate_bytes_per_second: Math.round((10 * MiB * 1000) / 2000.4),
      errors: 0,
      done: false,
    });
  });

  it('never gives a scan bound below what is done', () => {
    const e = progressEvent(
      'backup',
      { entries: 10, bytes: 50, scannedEntries: 4, scannedBytes: 20 },
      1000,
      false,
    );
    expect([e.scanned_entries, e.scanned_bytes]).toEqual([10, 50]);
  });

  it('gives totals and the ETA of etaMs, in whole seconds rounded up, once the totals are known', () => {
    const state = { entries: 1200, bytes: 10 * MiB + 1, totalEntries: 5000, totalBytes: 40 * MiB, errors: 2 };
    const e = progressEvent('backup', state, 2000, false);
    expect(e.total_entries).toBe(5000);
    expect(e.total_bytes).toBe(40 * MiB);
    expect(e.scanned_entries).toBeNull();
    expect(e.scanned_bytes).toBeNull();
    // A little under 6 s left at 5 MiB/s: 6.
    expect(etaMs(state, 2000)).toBeGreaterThan(5999);
    expect(etaMs(state, 2000)).toBeLessThan(6000);
    expect(e.eta_seconds).toBe(6);
    expect(e.errors).toBe(2);
  });

  it('takes the ETA from the entries when the total holds no bytes, 0 when done', () => {
    expect(
      progressEvent('restore', { entries: 100, bytes: 0, totalEntries: 400, totalBytes: 0 }, 1000, false)
        .eta_seconds,
    ).toBe(3);
    const last = progressEvent(
      'restore',
      { entries: 400, bytes: 0, totalEntries: 400, totalBytes: 0 },
      1000,
      true,
    );
    expect(last.eta_seconds).toBe(0);
    expect(last.done).toBe(true);
  });

  it('has every unknown as null, and a 0 rate, when only counts are known', () => {
    const e = progressEvent('check', { entries: 7, bytes: 0 }, 0, false);
    expect(e).toMatchObject({
      command: 'check',
      elapsed_ms: 0,
      total_entries: null,
      total_bytes: null,
      scanned_entries: null,
      scanned_bytes: null,
      eta_seconds: null,
      rate_bytes_per_second: 0,
      errors: 0,
    });
  });
});

describe('JsonProgress', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  function sink(): { stream: Writable; events: () => Record<string, unknown>[]; text: () => string } {
    let text = '';
    const stream = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        text += chunk.toString();
        callback();
      },
    });
    const events = () =>
      text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    return { stream, events, text: () => text };
  }

  it('writes one event a second with the latest state, then a last one with done: true, once', () => {
    // The fake clock moves with the fake timers.
    vi.useFakeTimers({ now: 1000 });
    const out = sink();
    const progress = new JsonProgress(out.stream, 'restore', 1000, () => Date.now());
    progress.update({ entries: 1, bytes: 10, totalEntries: 4, totalBytes: 40 });
    progress.update({ entries: 2, bytes: 20, totalEntries: 4, totalBytes: 40 });
    vi.advanceTimersByTime(999);
    expect(out.events()).toEqual([]);
    vi.advanceTimersByTime(1);
    progress.update({ entries: 3, bytes: 30, totalEntries: 4, totalBytes: 40 });
    vi.advanceTimersByTime(1500);
    progress.update({ entries: 4, bytes: 40, totalEntries: 4, totalBytes: 40 });
    vi.advanceTimersByTime(100);
    progress.stop();
    progress.stop();
    vi.advanceTimersByTime(5000);
    const events = out.events();
    expect(events.map((e) => [e.elapsed_ms, e.entries, e.done])).toEqual([
      [1000, 2, false],
      [2000, 3, false],
      [2600, 4, true],
    ]);
    expect(events.every((e) => e.type === 'progress' && e.command === 'restore')).toBe(true);
    expect(events[2]!.eta_seconds).toBe(0);
    expect(out.text().endsWith('}\n')).toBe(true);
  });

  it('writes the last event even when the operation ends before the first second', () => {
    vi.useFakeTimers();
    const out = sink();
    const progress = new JsonProgress(out.stream, 'backup', 1000, () => 0);
    progress.update({ entries: 3, bytes: 9, totalEntries: 3, totalBytes: 9 });
    progress.stop();
    expect(out.events()).toEqual([expect.objectContaining({ entries: 3, bytes: 9, done: true })]);
  });
});

describe('Output.progress', () => {
  /** What `progress('backup')` writes to a stderr that is a terminal, for one state, in `mode`. */
  function written(mode: OutputMode): string {
    vi.useFakeTimers();
    let text = '';
    const stderr = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        text += chunk.toString();
        callback();
      },
    });
    const io: Io = {
      stdout: new PassThrough(),
      stderr,
      stdin: new PassThrough(),
      stdinIsTTY: false,
      stderrIsTTY: true,
      env: {},
      cwd: '/',
      signal: new AbortController().signal,
    };
    const progress = new Output(io, mode).progress('backup');
    progress.update({ entries: 2, bytes: 4, totalEntries: 2, totalBytes: 4 });
    vi.advanceTimersByTime(1000);
    progress.stop();
    vi.useRealTimers();
    return text;
  }

  it('draws the line on a terminal without -json-progress (with -json too)', () => {
    expect(written({ json: true, quiet: false })).toContain('\r\x1b[Kbackup: 2/2 entries');
  });

  it('with -json-progress writes JSON events instead of the line, even on a terminal', () => {
    const text = written({ json: false, quiet: false, jsonProgress: true });
    expect(text).not.toContain('\r');
    const events = text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.map((e) => [e.command, e.entries, e.done])).toEqual([
      ['backup', 2, false],
      ['backup', 2, true],
    ]);
  });

  it('writes nothing with -quiet', () => {
    expect(written({ json: false, quiet: true })).toBe('');
    expect(written({ json: false, quiet: true, jsonProgress: true })).toBe('');
  });
});
