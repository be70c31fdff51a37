/**
 * The grammar: `kloset [global flags] [at LOCATION] COMMAND [flags] [args]`. Splits a command
 * line into the global flags, the store location, the command (by its words, longest match) and
 * what follows it.
 */
import type { Command } from '../commands/command.ts';
import { UsageError } from '../errors.ts';
import { GLOBAL_FLAGS } from './common-flags.ts';
import { type ParsedFlags, parseFlags } from './flags.ts';

export type CommandLine =
  | { readonly kind: 'help'; readonly topic: readonly string[]; readonly globals: ParsedFlags }
  | {
      readonly kind: 'command';
      readonly globals: ParsedFlags;
      readonly at: string | undefined;
      readonly command: Command;
      readonly rest: readonly string[];
    };

/** Edit distance, for "did you mean". */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

export function findCommand(commands: readonly Command[], words: readonly string[]): Command | undefined {
  let best: Command | undefined;
  for (const c of commands) {
    if (c.words.length > words.length) continue;
    if (!c.words.every((w, i) => words[i] === w)) continue;
    if (!best || c.words.length > best.words.length) best = c;
  }
  return best;
}

function unknownCommand(commands: readonly Command[], words: readonly string[]): UsageError {
  const typed = words.slice(0, 2).join(' ');
  const candidates = commands.map((c) => c.words.join(' '));
  const first = words[0] ?? '';
  const group = candidates.filter((c) => c.startsWith(`${first} `));
  if (group.length && words.length === 1) {
    return new UsageError(`${first} needs a subcommand: ${group.map((g) => g.split(' ')[1]).join(', ')}`);
  }
  if (group.length) {
    return new UsageError(
      `unknown command ${JSON.stringify(typed)} (${first} takes: ${group.map((g) => g.split(' ')[1]).join(', ')})`,
    );
  }
  const near = candidates
    .map((c) => ({ c, d: distance(first, c.split(' ')[0]!) }))
    .filter((x) => x.d <= 2)
    .sort((a, b) => a.d - b.d)[0];
  const hint = near ? `did you mean "${near.c.split(' ')[0]}"? ` : '';
  return new UsageError(`unknown command ${JSON.stringify(first)} (${hint}run "kloset help" for the list)`);
}

export function parseCommandLine(argv: readonly string[], commands: readonly Command[]): CommandLine {
  const { flags: globals, args } = parseFlags(argv, GLOBAL_FLAGS, undefined, true);
  let rest = args;
  if (globals.bool('help')) return { kind: 'help', topic: [], globals };
  let at: string | undefined;
  if (rest[0] === 'at') {
    at = rest[1];
    if (at === undefined || at === '')
      throw new UsageError('"at" needs a location: kloset at LOCATION COMMAND ...');
    rest = rest.slice(2);
  }
  const first = rest[0];
  if (first === undefined) throw new UsageError('no command given (run "kloset help" for the list)');
  if (first.startsWith('-')) {
    throw new UsageError(`unknown flag ${JSON.stringify(first)} before the command (run "kloset help")`);
  }
  if (first === 'help') {
    if (at !== undefined) throw new UsageError('help does not take a store ("at")');
    return { kind: 'help', topic: rest.slice(1), globals };
  }
  const command = findCommand(commands, rest);
  if (!command) {
    // `kloset store -h`: the help of a group of commands (`store add`, `store ls`...).
    if (isGroup(commands, first) && wantsHelp(rest.slice(1)))
      return { kind: 'help', topic: [first], globals };
    throw unknownCommand(commands, rest);
  }
  return { kind: 'command', globals, at, command, rest: rest.slice(command.words.length) };
}

/** True when `word` is the first of several words of some command (`pkg`, `source`, `store`). */
export function isGroup(commands: readonly Command[], word: string): boolean {
  return commands.some((c) => c.words.length > 1 && c.words[0] === word);
}

/** True when `-h`, `-help` or `--help` comes before any `--`. */
export function wantsHelp(rest: readonly string[]): boolean {
  for (const a of rest) {
    if (a === '--') return false;
    if (a === '-h' || a === '-help' || a === '--help' || a === '--h') return true;
  }
  return false;
}
