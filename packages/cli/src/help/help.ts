/** Help text, rendered from the command table (and checked against docs/cli.md by a test). */
import { GLOBAL_FLAGS, withCommonFlags } from '../args/common-flags.ts';
import type { FlagSpec } from '../args/flags.ts';
import { type Command, commandName } from '../commands/command.ts';
import { EXIT_CODE_DOCS } from '../exit-codes.ts';

export function flagLabel(f: FlagSpec): string {
  const names = [...(f.aliases ?? []), f.name].map((n) => `-${n}`).join(', ');
  return f.kind === 'boolean' ? names : `${names} ${f.value ?? 'VALUE'}`;
}

function columns(rows: readonly (readonly [string, string])[], indent = '  '): string[] {
  const w = Math.max(0, ...rows.map(([a]) => a.length));
  return rows.map(([a, b]) => `${indent}${a.padEnd(w)}  ${b}`.trimEnd());
}

export function usageLine(cmd: Command): string {
  const at = cmd.usesStore ? '[at LOCATION] ' : '';
  const args = cmd.args.map((a) => {
    const name = a.variadic ? `${a.name}...` : a.name;
    return a.required ? name : `[${name}]`;
  });
  return ['kloset', `${at}${commandName(cmd)}`, '[flags]', ...args].join(' ');
}

export const ENVIRONMENT: readonly (readonly [string, string])[] = [
  ['KLOSET_PASSPHRASE', 'the store passphrase (after passphrase= of a named store, before -keyfile)'],
  [
    'KLOSET_NEW_PASSPHRASE',
    'the new passphrase of "passphrase change" (else -new-keyfile FILE, else a prompt)',
  ],
  ['KLOSET_REPOSITORY', 'the store used when no "at" is given (default ~/.kloset)'],
  ['KLOSET_DEBUG=1', 'print the stack trace of an error; log storage retries (as -verbose)'],
  ['KLOSET_PKG_PATH', 'directories (:-separated) of package archives that "pkg add NAME" looks in first'],
  ['KLOSET_CRYPTO_WORKERS', 'crypto worker threads (default one per core beyond the first, 1 to 4; 0: none)'],
  [
    'KLOSET_SORT_MEMORY',
    'bytes of entries a backup or check sorts in memory before spilling them, encrypted, to the temporary directory (default 32 MiB)',
  ],
  [
    'KLOSET_FS_INLINE=0',
    'local directories: lstat, create and write always in the thread pool (file systems that can hang)',
  ],
  [
    'KLOSET_FS_WORKER=0',
    'local directories: walk and read small files on the main thread, not in a worker thread',
  ],
  ['KLOSET_MALLOC_TUNED=0', 'do not re-execute data commands with the tuned glibc allocator (Linux)'],
  ['XDG_CONFIG_HOME', 'named sources/stores/destinations: $XDG_CONFIG_HOME/kloset/config.json'],
  ['XDG_DATA_HOME', 'connector packages: $XDG_DATA_HOME/kloset/packages/'],
  ['XDG_CACHE_HOME', 'index caches: $XDG_CACHE_HOME/kloset/'],
];

export const JSON_CONVENTIONS: readonly string[] = [
  'With -json, stdout carries JSON Lines only: each line one complete JSON object.',
  'Commands with one result print one line; listings print one line per item.',
  'Ids are 64 hex digits, times are ISO 8601 UTC strings, sizes are bytes.',
  'Errors still go to stderr as one "kloset: <message>" line; the exit code tells the outcome.',
  'With -json-progress, progress goes to stderr as JSON Lines events, the last with "done": true.',
];

/** `options`: the lines listing the connector options it takes (optionsHelp), if it takes any. */
export function commandHelp(cmd: Command, options: readonly string[] = []): string {
  const lines = [`Usage: ${usageLine(cmd)}`, '', cmd.summary];
  if (cmd.description) lines.push('', ...cmd.description.split('\n'));
  if (cmd.args.length) {
    lines.push('', 'Arguments:', ...columns(cmd.args.map((a) => [a.name, a.description])));
  }
  const flags = withCommonFlags(cmd.flags, cmd.usesStore);
  lines.push('', 'Flags:', ...columns(flags.map((f) => [flagLabel(f), f.description])));
  if (cmd.usesStore) {
    lines.push(
      '',
      'LOCATION is a path, a URL (s3://...) or @NAME; default $KLOSET_REPOSITORY or ~/.kloset.',
      "A URL may carry options: 's3://host/bucket?use_tls=false&region=eu-west-3'.",
    );
  }
  if (options.length) lines.push('', ...options);
  if (cmd.json) lines.push('', `JSON (-json): ${cmd.json}`);
  if (cmd.examples?.length) lines.push('', 'Examples:', ...cmd.examples.map((e) => `  ${e}`));
  lines.push('', 'Exit codes: 0 ok, 1 error, 2 usage, 3 partial, 4 integrity (see kloset help).');
  return `${lines.join('\n')}\n`;
}

/** What each group of commands is about, for its help (`kloset store -h`). */
const GROUP_SUMMARIES: Readonly<Record<string, string>> = {
  source: 'Named sources: a location to back up and its options, used as @NAME.',
  store: 'Named stores: a store location, its options and passphrase, used as "at @NAME".',
  destination: 'Named destinations: a location to restore into and its options, used as "-to @NAME".',
  pkg: 'Connector packages: the protocols beyond local directories (s3).',
};

/** The help of a group of commands (`pkg`, `source`...): its subcommands with their summaries. */
export function groupHelp(commands: readonly Command[], group: string): string {
  const members = commands.filter((c) => c.words.length > 1 && c.words[0] === group);
  const lines = [`Usage: kloset ${group} SUBCOMMAND [flags] [args]`, ''];
  const summary = GROUP_SUMMARIES[group];
  if (summary) lines.push(summary, '');
  lines.push(
    'Subcommands:',
    ...columns(members.map((c) => [c.words.slice(1).join(' '), c.summary])),
    '',
    `Run "kloset ${group} SUBCOMMAND -h" for the help of one.`,
  );
  return `${lines.join('\n')}\n`;
}

export function globalHelp(commands: readonly Command[], version: string): string {
  const lines = [
    `kloset ${version}: encrypted, deduplicated backups (Plakar grammar)`,
    '',
    'Usage: kloset [-keyfile FILE] [-json] [-json-progress] [-quiet] [at LOCATION] COMMAND [flags] [args]',
    '',
    'LOCATION is a path, a URL (s3://...) or @NAME (a named store). Without "at", the store is',
    '$KLOSET_REPOSITORY, else ~/.kloset. A URL location (store, source or destination) may carry',
    "options: 's3://host/bucket?use_tls=false&region=eu-west-3' (no keys: see docs/cli.md).",
    'Flags are single-dash words (-to DIR, -fast, -to=DIR); they may follow arguments; "--" ends them.',
    '',
    'Commands:',
    ...columns(commands.map((c) => [commandName(c), c.summary])),
    '',
    'Global flags (before at/COMMAND, or after COMMAND):',
    ...columns(GLOBAL_FLAGS.map((f) => [flagLabel(f), f.description])),
    '',
    'Snapshots are named by a prefix of their id or "latest"; SNAPSHOT:PATH names a path inside one.',
    '"latest" is the newest snapshot matching the filters if they are all of one source; else the',
    'command lists the sources and exits 2: choose one with -source @NAME|PATH|URL.',
    '',
    'Passphrase: passphrase= of a named store, else KLOSET_PASSPHRASE, else -keyfile FILE, else a',
    'prompt when stdin is a terminal (twice at create), else an error.',
    '',
    'Environment:',
    ...columns(ENVIRONMENT),
    '',
    'JSON output:',
    ...JSON_CONVENTIONS.map((l) => `  ${l}`),
    '',
    'Exit codes:',
    ...columns(EXIT_CODE_DOCS.map((e) => [String(e.code), e.meaning])),
    '',
    'Run "kloset COMMAND -h" for the help of a command.',
  ];
  return `${lines.join('\n')}\n`;
}
