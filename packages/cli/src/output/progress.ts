/**
 * Progress on stderr, one line rewritten in place: entries, bytes, rate and, when the total is
 * known, ETA (`1,200/5,000 entries, 10 MiB/40 MiB, 5 MiB/s, ETA 6s`); while only a lower bound of
 * the total is known (a backup whose scan has not ended), that bound with a `+`
 * (`1,200/3,000+ entries, 10 MiB/20 MiB+, 5 MiB/s`) and no ETA. Only when stderr is a terminal and
 * not -quiet; otherwise every call is a no-op.
 *
 * With -json-progress, the same state as JSON Lines events on stderr instead (progressEvent), on
 * a timer: at most one a second, and one last event (`"done": true`) when the operation ends.
 */
import type { Writable } from 'node:stream';
import { formatBytes, formatCount, formatDuration, formatRate } from './format.ts';
import { type JsonObject, jsonLine } from './json.ts';

export interface ProgressState {
  readonly entries: number;
  readonly bytes: number;
  /** Totals, when known (e.g. restore knows them from the snapshot). */
  readonly totalEntries?: number;
  readonly totalBytes?: number;
  /** Lower bounds of the totals while they are not known (found so far by a scan running ahead). */
  readonly scannedEntries?: number;
  readonly scannedBytes?: number;
  /** Entries that failed so far. */
  readonly errors?: number;
}

export interface Progress {
  update(state: ProgressState): void;
  /** Clears the line. */
  stop(): void;
}

export const NO_PROGRESS: Progress = { update() {}, stop() {} };

const INTERVAL_MS = 250;
/** Between two JSON progress events (the last one is written when the operation ends). */
export const JSON_INTERVAL_MS = 1000;

/** Bytes a second so far. */
export function rateBytesPerSecond(s: ProgressState, elapsedMs: number): number {
  return elapsedMs > 0 ? (s.bytes * 1000) / elapsedMs : 0;
}

export function renderProgress(label: string, s: ProgressState, elapsedMs: number): string {
  const rate = rateBytesPerSecond(s, elapsedMs);
  const entries = `${outOf(formatCount, s.entries, s.totalEntries, s.scannedEntries)} entries`;
  const bytes = outOf(formatBytes, s.bytes, s.totalBytes, s.scannedBytes);
  const parts = [`${label}: ${entries}`, bytes, formatRate(rate)];
  const eta = etaMs(s, elapsedMs);
  if (eta !== undefined) parts.push(`ETA ${formatDuration(eta)}`);
  if (s.errors) parts.push(`${formatCount(s.errors)} errors`);
  return parts.join(', ');
}

/** `done/total`, `done/bound+` while only a lower bound is known, else `done`. */
function outOf(format: (n: number) => string, done: number, total?: number, bound?: number): string {
  if (total !== undefined) return `${format(done)}/${format(total)}`;
  if (bound !== undefined) return `${format(done)}/${format(Math.max(done, bound))}+`;
  return format(done);
}

/**
 * Time left at the rate so far: by bytes, or by entries when the total holds no bytes (only
 * directories, empty files). Undefined until the totals are known and the rate is.
 */
export function etaMs(s: ProgressState, elapsedMs: number): number | undefined {
  if (s.totalBytes !== undefined && s.totalBytes > 0) {
    if (s.bytes <= 0 || elapsedMs <= 0) return undefined;
    return (Math.max(0, s.totalBytes - s.bytes) * elapsedMs) / s.bytes;
  }
  if (s.totalEntries === undefined || s.entries <= 0 || elapsedMs <= 0) return undefined;
  return (Math.max(0, s.totalEntries - s.entries) * elapsedMs) / s.entries;
}

export class TerminalProgress implements Progress {
  readonly #stream: Writable;
  readonly #label: string;
  readonly #start = Date.now();
  #state: ProgressState = { entries: 0, bytes: 0 };
  #timer: NodeJS.Timeout | undefined;
  #drawn = false;

  constructor(stream: Writable, label: string) {
    this.#stream = stream;
    this.#label = label;
    this.#timer = setInterval(() => this.#draw(), INTERVAL_MS);
    this.#timer.unref();
  }

  update(state: ProgressState): void {
    this.#state = state;
  }

  #draw(): void {
    const columns = (this.#stream as { columns?: number }).columns ?? 80;
    const line = renderProgress(this.#label, this.#state, Date.now() - this.#start).slice(0, columns - 1);
    this.#stream.write(`\r\x1b[K${line}`);
    this.#drawn = true;
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#drawn) this.#stream.write('\r\x1b[K');
    this.#drawn = false;
  }
}

/**
 * One -json-progress event. Totals are null until known; `scanned_*` are the lower bounds of the
 * totals while a backup's scan runs (never below what is done, as on the terminal line), null
 * otherwise; `eta_seconds` is etaMs in whole seconds rounded up, null while unknown.
 */
export function progressEvent(
  command: string,
  s: ProgressState,
  elapsedMs: number,
  done: boolean,
): JsonObject {
  const eta = etaMs(s, elapsedMs);
  const bound = (sofar: number, total: number | undefined, scanned: number | undefined) =>
    total === undefined && scanned !== undefined ? Math.max(sofar, scanned) : null;
  return {
    type: 'progress',
    command,
    elapsed_ms: Math.round(elapsedMs),
    entries: s.entries,
    bytes: s.bytes,
    total_entries: s.totalEntries ?? null,
    total_bytes: s.totalBytes ?? null,
    scanned_entries: bound(s.entries, s.totalEntries, s.scannedEntries),
    scanned_bytes: bound(s.bytes, s.totalBytes, s.scannedBytes),
    eta_seconds: eta === undefined ? null : Math.ceil(eta / 1000),
    rate_bytes_per_second: Math.round(rateBytesPerSecond(s, elapsedMs)),
    errors: s.errors ?? 0,
    done,
  };
}

/**
 * -json-progress: one progressEvent line on `stream` every `intervalMs` (whatever the stream is),
 * and a last one with `"done": true` at stop(), so even a short operation writes one.
 */
export class JsonProgress implements Progress {
  readonly #stream: Writable;
  readonly #command: string;
  readonly #now: () => number;
  readonly #start: number;
  #state: ProgressState = { entries: 0, bytes: 0 };
  #timer: NodeJS.Timeout | undefined;

  constructor(
    stream: Writable,
    command: string,
    intervalMs = JSON_INTERVAL_MS,
    now: () => number = Date.now,
  ) {
    this.#stream = stream;
    this.#command = command;
    this.#now = now;
    this.#start = now();
    this.#timer = setInterval(() => this.#emit(false), intervalMs);
    this.#timer.unref();
  }

  update(state: ProgressState): void {
    this.#state = state;
  }

  #emit(done: boolean): void {
    this.#stream.write(jsonLine(progressEvent(this.#command, this.#state, this.#now() - this.#start, done)));
  }

  /** Writes the last event, once. */
  stop(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#emit(true);
  }
}
