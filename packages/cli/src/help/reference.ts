/**
 * docs/cli.md, rendered from the command table: `node --conditions=kloset-source
 * packages/cli/src/help/write-reference.ts` rewrites it, and a test fails when it is out of step.
 */
import { withCommonFlags } from '../args/common-flags.ts';
import { type Command, commandName } from '../commands/command.ts';
import { EXIT_CODE_DOCS } from '../exit-codes.ts';
import { ENVIRONMENT, flagLabel, JSON_CONVENTIONS, usageLine } from './help.ts';

const esc = (s: string) => s.replace(/\|/g, '\\|');

function commandSection(cmd: Command): string[] {
  const lines = [
    `### ${commandName(cmd)}`,
    '',
    `${cmd.summary.charAt(0).toUpperCase()}${cmd.summary.slice(1)}.`,
    '',
  ];
  lines.push('```', usageLine(cmd), '```', '');
  if (cmd.description) lines.push(cmd.description.replace(/\n/g, ' '), '');
  if (cmd.args.length) {
    lines.push('| argument | |', '|---|---|');
    for (const a of cmd.args)
      lines.push(`| \`${esc(a.name)}\` | ${esc(a.description)}${a.required ? '' : ' (optional)'} |`);
    lines.push('');
  }
  lines.push('| flag | |', '|---|---|');
  for (const f of withCommonFlags(cmd.flags, cmd.usesStore))
    lines.push(`| \`${esc(flagLabel(f))}\` | ${esc(f.description)} |`);
  lines.push('');
  if (cmd.json) lines.push(`JSON: \`${cmd.json}\``, '');
  if (cmd.examples?.length) lines.push('```', ...cmd.examples, '```', '');
  return lines;
}

export function renderReference(commands: readonly Command[]): string {
  const lines = [
    '# kloset command line reference',
    '',
    '<!-- Generated from packages/cli/src/commands by packages/cli/src/help/write-reference.ts;',
    '     a test fails when this file and the command table differ. Edit the commands, then rerun it. -->',
    '',
    '```',
    'kloset [-keyfile FILE] [-json] [-quiet] [at LOCATION] COMMAND [flags] [args]',
    '```',
    '',
    "The grammar is Plakar's, with `kloset` in place of `plakar`. LOCATION is a path, a URL",
    '(`s3://...`) or `@NAME`, a named store (or `@NAME` source / destination where those go). Without `at`, the',
    'store is `$KLOSET_REPOSITORY`, else `~/.kloset`.',
    '',
    'Flags are single-dash words: `-to DIR`, `-to=DIR`, `-fast`, `-fast=false`; `--to` works too. They may',
    'come before or after arguments; `--` ends them. `-h`, `-help` and `--help` show the help of any',
    'command. `-json`, `-quiet` and (for commands on a store) `-keyfile FILE` are accepted before `at`',
    'or after the command.',
    '',
    'Snapshots are named by a prefix of their id (hex) or `latest`; `SNAPSHOT:PATH` names a path in one.',
    '',
    '## Passphrase',
    '',
    'First found wins: `passphrase=` of a named store; `KLOSET_PASSPHRASE`; the first line of',
    '`-keyfile FILE`; a prompt without echo when stdin is a terminal (asked twice by `create`, both',
    'must match). Otherwise the command fails in one line: it never waits on a stdin that is not a',
    'terminal.',
    '',
    '## Output',
    '',
    'Human text on stdout by default. Progress (entries, bytes, rate, ETA) is drawn on stderr only',
    'when stderr is a terminal, and never with `-quiet`. Errors are one line on stderr,',
    '`kloset: <message>`, without a stack trace (`KLOSET_DEBUG=1` adds it). Entries that fail during',
    'a backup or restore, and problems found by check, are one `kloset: ...` line each on stderr.',
    '',
    '### JSON (`-json`)',
    '',
    ...JSON_CONVENTIONS.map((l) => `- ${l}`),
    '- Keys are snake_case. Lists of failures and problems inside a result keep the first 1000; the',
    '  `*_count` field beside them is exact.',
    '- A snapshot (`{snapshot}` below) is `{"id", "short_id", "time", "duration_ms", "name", "tags",',
    '  "hostname", "username", "source": {"protocol", "origin", "root"}, "summary": {"files",',
    '  "directories", "symlinks", "errors", "bytes", "stored_bytes"}}`.',
    '- A store (`{store}`) is `{"location", "store_id", "encrypted", "created", "version",',
    '  "compression", "packfile_size", "chunking": {"min", "avg", "max"}}`.',
    '',
    '## Exit codes',
    '',
    '| code | meaning |',
    '|---|---|',
    ...EXIT_CODE_DOCS.map((e) => `| ${e.code} | ${esc(e.meaning)} |`),
    '',
    '## Environment',
    '',
    '| variable | |',
    '|---|---|',
    ...ENVIRONMENT.map(([k, v]) => `| \`${k}\` | ${esc(v)} |`),
    '',
    '## Commands',
    '',
    ...commands.flatMap(commandSection),
  ];
  return `${lines.join('\n').trimEnd()}\n`;
}
