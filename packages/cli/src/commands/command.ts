/**
 * What every command declares: its words (`ls`, later `source add`), its flags and arguments for
 * parsing and help, and a `run` that parses nothing itself: it gets a context and calls the core.
 */
import type { ConnectorRole } from '@kloset/connector-contract';
import type { FlagSpec, ParsedFlags } from '../args/flags.ts';
import type { ExitCode } from '../exit-codes.ts';
import type { Io } from '../io/io.ts';
import type { Output } from '../output/output.ts';
import type { Services } from '../services.ts';

export interface ArgSpec {
  /** As shown in usage: `SNAPSHOT`, `SNAPSHOT[:PATH]`, `PATH|@NAME`. */
  readonly name: string;
  readonly required: boolean;
  /** Takes every remaining argument (at least one if required). */
  readonly variadic?: boolean;
  readonly description: string;
}

export interface CommandContext {
  readonly io: Io;
  readonly out: Output;
  readonly flags: ParsedFlags;
  readonly args: readonly string[];
  /** The store location given with `at`, or undefined for the default store. */
  readonly at: string | undefined;
  readonly services: Services;
  /** The command's words (`ls`, `store add`), for messages. */
  readonly command: string;
}

export interface Command {
  /** The words that name the command: ['ls'], ['source', 'add']. */
  readonly words: readonly string[];
  readonly summary: string;
  /** Paragraphs shown by `--help` after the usage line. */
  readonly description?: string;
  /** True when the command works on a store (accepts `at LOCATION`, `-keyfile`). */
  readonly usesStore: boolean;
  readonly flags: readonly FlagSpec[];
  readonly args: readonly ArgSpec[];
  /** Shape of the -json output, one line, for help and docs. */
  readonly json?: string;
  readonly examples?: readonly string[];
  /** Takes the options of a connector of this role: its help lists those of the known protocols. */
  readonly optionsRole?: ConnectorRole;
  /** Resolves to an exit code, ExitCode.Ok if undefined. Throws CliError for failures. */
  run(ctx: CommandContext): Promise<ExitCode | undefined>;
}

export function commandName(cmd: Command): string {
  return cmd.words.join(' ');
}
