/**
 * Progress on stderr, one line rewritten in place: entries, bytes, rate and, when the total is
 * known, ETA. Only when stderr is a terminal and not -quiet; otherwise every call is a no-op.
 */
import type { Writable } from 'node:stream';
import { formatBytes, formatCount, formatDuration, formatRate } from './format.ts';

export interface ProgressState {
  readonly entries: number;
  readonly bytes: number;
  /** Totals, when known (e.g. restore knows them from the snapshot). */
  readonly totalEntries?: number;
  readonly totalBytes?: number;
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

export function renderProgress(label: string, s: ProgressState, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? (s.bytes * 1000) / elapsedMs : 0;
  const entries =
    s.totalEntries !== undefined
      ? `${formatCount(s.entries)}/${formatCount(s.totalEntries)} entries`
      : `${formatCount(s.entries)} entries`;
  const bytes =
    s.totalBytes !== undefined
      ? `${formatBytes(s.bytes)}/${formatBytes(s.totalBytes)}`
      : formatBytes(s.bytes);
  const parts = [`${label}: ${entries}`, bytes, formatRate(rate)];
  if (s.totalBytes !== undefined && rate > 0 && s.totalBytes >= s.bytes) {
    parts.push(`ETA ${formatDuration(((s.totalBytes - s.bytes) / rate) * 1000)}`);
  }
  if (s.errors) parts.push(`${formatCount(s.errors)} errors`);
  return parts.join(', ');
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
