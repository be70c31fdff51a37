/**
 * Errors the CLI reports. Each carries its exit code; the message is one line for the user
 * (`kloset: <message>`). Anything else thrown is reported the same way with exit code 1.
 */
import { ExitCode } from './exit-codes.ts';

export class CliError extends Error {
  override readonly name: string = 'CliError';
  readonly exitCode: ExitCode;
  constructor(message: string, exitCode: ExitCode = ExitCode.Error, options?: { cause?: unknown }) {
    super(message, options);
    this.exitCode = exitCode;
  }
}

/** A wrong command line. `command` names the command whose help to point at. */
export class UsageError extends CliError {
  override readonly name = 'UsageError';
  readonly command: string | undefined;
  constructor(message: string, command?: string) {
    super(message, ExitCode.Usage);
    this.command = command;
  }
}

/**
 * A command line that does not say which of several things it means: its one line, then the
 * choices, one per line (printed indented under it). Exit 2.
 */
export class ChoiceError extends CliError {
  override readonly name = 'ChoiceError';
  readonly choices: readonly string[];
  constructor(message: string, choices: readonly string[], options?: { cause?: unknown }) {
    super(message, ExitCode.Usage, options);
    this.choices = choices;
  }
}

/** Missing or corrupt data found by check or restore. */
export class IntegrityError extends CliError {
  override readonly name = 'IntegrityError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, ExitCode.Integrity, options);
  }
}

/** The user's passphrase could not be obtained (no env, no keyfile, no TTY) or was refused. */
export class PassphraseError extends CliError {
  override readonly name: string = 'PassphraseError';
}

/** No passphrase was given, and there is no terminal to ask on. */
export class MissingPassphraseError extends PassphraseError {
  override readonly name = 'MissingPassphraseError';
}

/** The passphrase does not open the store. Services names the store and where the passphrase came from. */
export class WrongPassphraseError extends CliError {
  override readonly name = 'WrongPassphraseError';
  /** Where the passphrase came from (`KLOSET_PASSPHRASE`, `keyfile FILE`...), when known. */
  readonly from: string | undefined;
  constructor(message = 'wrong passphrase', options?: { cause?: unknown; from?: string | undefined }) {
    super(message, ExitCode.Error, options);
    this.from = options?.from;
  }
}

/** The message of anything thrown, on one line. */
export function oneLine(err: unknown): string {
  const raw = err instanceof Error ? err.message : String(err);
  const line = raw.replace(/\s*\n\s*/g, ' ').trim();
  return line || (err instanceof Error ? err.name : 'unknown error');
}

/** The exit code for anything thrown. */
export function exitCodeOf(err: unknown): ExitCode {
  if (err instanceof CliError) return err.exitCode;
  return ExitCode.Error;
}
