/**
 * Where commands print. Human text goes to stdout unless -quiet or -json; with -json, each
 * result is one JSON object on one line of stdout (JSON Lines) and nothing else is printed there.
 * Warnings and per-entry errors go to stderr as `kloset: ...` lines (also with -json, never with
 * -quiet for errors). Progress goes to stderr only when it is a terminal; with -json-progress,
 * as JSON Lines events on stderr instead, terminal or not (never with -quiet). Every human line is
 * printed with its control characters escaped (escape.ts): a name cannot forge a line or drive
 * the terminal; JSON records are printed as they are.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { Io } from '../io/io.ts';
import { escapeControls } from './escape.ts';
import { type JsonObject, jsonLine } from './json.ts';
import { JsonProgress, NO_PROGRESS, type Progress, TerminalProgress } from './progress.ts';

export interface OutputMode {
  readonly json: boolean;
  readonly quiet: boolean;
  /** Progress as JSON Lines events on stderr (in place of the terminal line). */
  readonly jsonProgress?: boolean;
}

async function write(stream: Writable, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream, 'drain');
}

export class Output {
  readonly json: boolean;
  readonly quiet: boolean;
  readonly jsonProgress: boolean;
  readonly #io: Io;

  constructor(io: Io, mode: OutputMode) {
    this.#io = io;
    this.json = mode.json;
    this.quiet = mode.quiet;
    this.jsonProgress = mode.jsonProgress ?? false;
  }

  /** Human lines on stdout (not with -json or -quiet). */
  async text(...lines: string[]): Promise<void> {
    if (this.json || this.quiet) return;
    if (lines.length) await write(this.#io.stdout, `${lines.map(escapeControls).join('\n')}\n`);
  }

  /** One JSON Lines record on stdout (only with -json). */
  async record(value: JsonObject): Promise<void> {
    if (!this.json) return;
    await write(this.#io.stdout, jsonLine(value));
  }

  /** Either one JSON record or human lines, by mode. */
  async result(value: JsonObject, human: () => string[]): Promise<void> {
    if (this.json) await this.record(value);
    else await this.text(...human());
  }

  /** Informational line on stderr (not with -quiet): `kloset: <message>`. */
  async note(message: string): Promise<void> {
    if (this.quiet) return;
    await write(this.#io.stderr, `kloset: ${escapeControls(message)}\n`);
  }

  /** A non-fatal error on stderr, always shown: `kloset: <message>`. */
  async warn(message: string): Promise<void> {
    await write(this.#io.stderr, `kloset: ${escapeControls(message)}\n`);
  }

  /**
   * Progress of the command `label`: JSON events on stderr with -json-progress, else a line when
   * stderr is a terminal; nothing with -quiet.
   */
  progress(label: string): Progress {
    if (this.quiet) return NO_PROGRESS;
    if (this.jsonProgress) return new JsonProgress(this.#io.stderr, label);
    if (!this.#io.stderrIsTTY) return NO_PROGRESS;
    return new TerminalProgress(this.#io.stderr, label);
  }
}
