/**
 * Runs one command line: parse, dispatch, report. Returns the exit code; never throws.
 * Errors are printed as one line `kloset: <message>` (with the stack when KLOSET_DEBUG=1).
 */
import type { ConnectorManifest } from '@kloset/connector-contract';
import { type CommandLine, findCommand, isGroup, parseCommandLine, wantsHelp } from './args/command-line.ts';
import { withCommonFlags } from './args/common-flags.ts';
import { parseFlags } from './args/flags.ts';
import { type Command, commandName } from './commands/command.ts';
import { COMMANDS } from './commands/table.ts';
import { ChoiceError, CliError, exitCodeOf, oneLine, UsageError } from './errors.ts';
import { ExitCode } from './exit-codes.ts';
import { optionsHelp } from './help/connector-options.ts';
import { commandHelp, globalHelp, groupHelp } from './help/help.ts';
import { type Io, writeAll } from './io/io.ts';
import { escapeControls } from './output/escape.ts';
import { Output } from './output/output.ts';
import { type EngineFactory, Services } from './services.ts';
import { cliVersion } from './version.ts';

export interface RunOptions {
  readonly engine?: EngineFactory;
  /** Connectors built in (default: the fs connectors). */
  readonly builtins?: readonly ConnectorManifest[];
  readonly commands?: readonly Command[];
}

function checkArgs(cmd: Command, args: readonly string[]): void {
  const name = commandName(cmd);
  const required = cmd.args.filter((a) => a.required);
  if (args.length < required.length) {
    const missing = required[args.length]!;
    throw new UsageError(`${name}: missing ${missing.name} (usage: see "kloset ${name} -h")`, name);
  }
  const variadic = cmd.args.some((a) => a.variadic);
  if (!variadic && args.length > cmd.args.length) {
    throw new UsageError(`${name}: unexpected argument ${JSON.stringify(args[cmd.args.length])}`, name);
  }
}

async function runHelp(io: Io, commands: readonly Command[], topic: readonly string[]): Promise<ExitCode> {
  if (topic.length === 0) {
    await writeAll(io.stdout, globalHelp(commands, cliVersion()));
    return ExitCode.Ok;
  }
  const cmd = findCommand(commands, topic);
  if (!cmd && topic.length === 1 && isGroup(commands, topic[0]!)) {
    await writeAll(io.stdout, groupHelp(commands, topic[0]!));
    return ExitCode.Ok;
  }
  if (!cmd) throw new UsageError(`no help for ${JSON.stringify(topic.join(' '))}: no such command`);
  await writeAll(io.stdout, commandHelp(cmd));
  return ExitCode.Ok;
}

async function dispatch(
  io: Io,
  line: CommandLine & { kind: 'command' },
  options: RunOptions,
): Promise<ExitCode> {
  const { command, globals } = line;
  const name = commandName(command);
  if (wantsHelp(line.rest)) {
    const role = command.optionsRole;
    const known =
      role === undefined
        ? []
        : optionsHelp(await new Services(io, options.engine, options.builtins).knownManifests(), role);
    await writeAll(io.stdout, commandHelp(command, known));
    return ExitCode.Ok;
  }
  if (line.at !== undefined && !command.usesStore)
    throw new UsageError(`${name} does not take a store ("at")`, name);
  const parsed = parseFlags(line.rest, withCommonFlags(command.flags, command.usesStore), name);
  const { args } = parsed;
  checkArgs(command, args);
  const globalNames = command.usesStore
    ? ['json', 'json-progress', 'quiet', 'verbose', 'keyfile']
    : ['json', 'json-progress', 'quiet', 'verbose'];
  if (!command.usesStore && globals.has('keyfile'))
    throw new UsageError(`${name} does not take -keyfile`, name);
  const flags = parsed.flags.withDefaults(globals, globalNames);
  // Asking for progress events and for nothing but errors is a contradiction, not a preference.
  if (flags.bool('json-progress') && flags.bool('quiet'))
    throw new UsageError(`${name}: -json-progress and -quiet cannot be used together`, name);
  const out = new Output(io, {
    json: flags.bool('json'),
    quiet: flags.bool('quiet'),
    jsonProgress: flags.bool('json-progress'),
  });
  const services = new Services(io, options.engine, options.builtins, { verbose: flags.bool('verbose') });
  const code = await command.run({ io, out, flags, args, at: line.at, services, command: name });
  return code ?? ExitCode.Ok;
}

export function formatError(err: unknown, debug: boolean): string {
  let message = oneLine(err);
  if (err instanceof UsageError && err.command && !message.includes(' -h"')) {
    message += ` (see "kloset ${err.command} -h")`;
  }
  let line = `kloset: ${escapeControls(message)}\n`;
  if (err instanceof ChoiceError) for (const choice of err.choices) line += `  ${escapeControls(choice)}\n`;
  if (debug && err instanceof Error) {
    const lines = (text: string) => `${text.split('\n').map(escapeControls).join('\n')}\n`;
    line += lines(err.stack ?? '');
    let cause: unknown = err.cause;
    while (cause instanceof Error) {
      line += lines(`caused by: ${cause.stack ?? cause.message}`);
      cause = cause.cause;
    }
  }
  return line;
}

function errnoCode(err: unknown): string | undefined {
  const code = err instanceof Error ? (err as NodeJS.ErrnoException).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

export async function runCli(argv: readonly string[], io: Io, options: RunOptions = {}): Promise<ExitCode> {
  const commands = options.commands ?? COMMANDS;
  let stdoutClosed = false;
  const onStdoutError = (err: unknown) => {
    if (errnoCode(err) === 'EPIPE') stdoutClosed = true;
  };
  io.stdout.on('error', onStdoutError);
  try {
    const line = parseCommandLine(argv, commands);
    if (line.kind === 'help') return await runHelp(io, commands, line.topic);
    return await dispatch(io, line, options);
  } catch (err) {
    // The reader of our output went away (`| head`): nothing to say, and no one to say it to.
    if (stdoutClosed && errnoCode(err) === 'EPIPE') return ExitCode.OutputClosed;
    const interrupted = io.signal.aborted && !(err instanceof CliError);
    const code = interrupted ? ExitCode.Interrupted : exitCodeOf(err);
    const shown = interrupted ? new CliError('interrupted') : err;
    await writeAll(io.stderr, formatError(shown, io.env.KLOSET_DEBUG === '1')).catch(() => {});
    return code;
  } finally {
    io.stdout.off('error', onStdoutError);
  }
}
