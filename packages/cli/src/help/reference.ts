/**
 * docs/cli.md, rendered from the command table: `node --conditions=kloset-source
 * packages/cli/src/help/write-reference.ts` rewrites it, and a test fails when it is out of step.
 */
import { withCommonFlags } from '../args/common-flags.ts';
import { type Command, commandName } from '../commands/command.ts';
import { EXIT_CODE_DOCS } from '../exit-codes.ts';
import { type ManifestOptions, optionRows, protocolsLabel, ROLE_WORD } from './connector-options.ts';
import { ENVIRONMENT, flagLabel, JSON_CONVENTIONS, usageLine } from './help.ts';

const esc = (s: string) => s.replace(/\|/g, '\\|');

/**
 * A description as Markdown: a blank line starts a paragraph, a line indented by two spaces is an
 * item of a list (`  always  does this`: the first word in code), other lines join their paragraph.
 */
function descriptionMarkdown(description: string): string[] {
  const out: string[] = [];
  let text: string[] = [];
  let inList = false;
  const end = () => {
    if (text.length > 0) out.push(text.join(' '), '');
    else if (inList) out.push('');
    text = [];
    inList = false;
  };
  for (const line of description.split('\n')) {
    const item = /^ {2}(\S+)\s+(.*)$/.exec(line);
    if (line === '') end();
    else if (item !== null) {
      if (!inList) end();
      inList = true;
      out.push(`- \`${item[1]}\`: ${item[2]}`);
    } else {
      if (inList) end();
      text.push(line);
    }
  }
  end();
  return out;
}

function commandSection(cmd: Command): string[] {
  const lines = [
    `### ${commandName(cmd)}`,
    '',
    `${cmd.summary.charAt(0).toUpperCase()}${cmd.summary.slice(1)}.`,
    '',
  ];
  lines.push('```', usageLine(cmd), '```', '');
  if (cmd.description) lines.push(...descriptionMarkdown(cmd.description));
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

/** Options in the query string of a one-off location. */
const LOCATION_OPTIONS: readonly string[] = [
  'A URL location, as a store (`at`), a source (`backup`) or a destination (`restore -to`), may carry',
  "its connector's options in a query string: `kloset at 's3://host/bucket/prefix?use_tls=false&region=eu-west-3' ls`",
  '(quote it for the shell). Keys and values are percent-decoded (`%26` for a `&` in a value) and',
  'checked as `store add` checks them: an unknown option or a bad value is a usage error (exit 2).',
  '`access_key`, `secret_access_key`, `session_token`, `passphrase` and any other secret option are',
  'refused in a location, in one line: they would show in shell history and process lists. They come',
  'from a named configuration, the environment or a profile of the AWS shared files. `add` and `set`',
  "of a named configuration (`kloset store add NAME 'URL?KEY=VALUE...'`) save the options of the query",
  'as options. In a URL location a `?` always starts the options: an S3 prefix that holds one can be',
  'neither typed nor saved.',
  '',
];

/** How connector packages are built, found and installed (`pkg build|add|list|rm`). */
const PACKAGES_SECTION: readonly string[] = [
  '## Connector packages',
  '',
  'The `fs` connectors (local directories) are built in. Other protocols come as packages: `s3` is',
  'the S3 source, storage and destination. A location whose protocol has no installed connector fails',
  'in one line naming the package to add (`kloset pkg add s3`).',
  '',
  '- `kloset pkg build s3` builds, offline, `s3_vVERSION_PLATFORM.tgz` (e.g. `s3_v0.1.0_linux_x64.tgz`)',
  '  in the current directory from the package source in the kloset checkout the CLI runs from (a',
  '  workspace package whose package.json has `"kloset": {"package": "s3"}`; `pkg build ./DIR` names',
  '  one). The archive holds `manifest.json` first (format, name, version, platform, the connector',
  "  contract and Node.js versions it needs, each connector's role, protocols and options, and the",
  '  size and SHA-256 of every file) and `index.js`: the connectors and all their dependencies (the',
  '  AWS SDK) bundled by rolldown into one ESM file. Only Node.js built-ins and',
  '  `@kloset/connector-contract`, which the CLI provides to every package, stay outside. The same',
  '  source gives the same bytes.',
  '- `kloset pkg add ./ARCHIVE` reads the archive as a stream and installs nothing unless every check',
  '  passes: manifest first and valid, platform, Node.js and contract compatible, each entry a regular',
  '  file listed in the manifest with a plain relative name, its size and SHA-256, no file missing or',
  '  extra, and the entry point exports the connectors the manifest lists. It is extracted into',
  '  `$XDG_DATA_HOME/kloset/packages/.store/NAME-VERSION-RANDOM/` and made visible by renaming a',
  '  symlink `packages/NAME` over the previous one: other kloset processes see the old package or the',
  '  new one, never half of one. The replaced version is then deleted.',
  '- `kloset pkg add NAME` finds the package offline, first match wins: (1) the newest',
  '  `NAME_vVERSION_PLATFORM.tgz` for this platform in the directories of `KLOSET_PKG_PATH`',
  '  (`:`-separated); (2) the package source NAME of the kloset checkout the CLI runs from, built as',
  '  by `pkg build` and installed. No registry is asked: kloset packages are not published to npm',
  '  yet, so there is nothing there to fetch or verify. On a machine without a checkout, copy an',
  '  archive made by `pkg build` and `pkg add ./ARCHIVE` it, or put it in a `KLOSET_PKG_PATH` directory.',
  '- `kloset pkg list` reads the manifests only (no package code runs); `kloset pkg rm NAME` deletes',
  '  the package. Named sources, stores and destinations live in the configuration file, which',
  '  `pkg rm` and `pkg add` never touch: an upgrade (`pkg rm s3`, `pkg add s3`) keeps them.',
  '',
  'Storage calls (every store, built in or not, every kind of resource, locks included) go through',
  'one retry layer with one policy: transient failures (timeouts, 5xx, throttling, unreachable',
  'endpoints, a body damaged on its way) are tried up to 6 times with exponential backoff (200 ms',
  'to 10 s), within a deadline per operation: the `timeout=` option of an S3 store, source or',
  'destination, in seconds (default 50). One attempt waits at most 0.3 × timeout for a connection,',
  'an answer or the next bytes (a slow link that moves data is not cut), and no attempt starts',
  'that could end past the deadline: a server that accepts connections and never answers fails',
  'in one line naming the store and the operation within the timeout. Raise it for slow links:',
  '`kloset store set NAME timeout=300`. `-verbose` or `KLOSET_DEBUG=1` logs each retry on stderr.',
  '',
];

/** `## Connector options`: what each package's manifest declares, role by role. */
function optionsSection(manifests: readonly ManifestOptions[]): string[] {
  const lines = [
    '## Connector options',
    '',
    'Options follow the location as `KEY=VALUE` words: `kloset source add NAME LOCATION KEY=VALUE...`,',
    '`kloset store set NAME KEY=VALUE...`. `add` and `set` check them against the manifest of the',
    "location's connector (an unknown key or a bad value: exit 2, one line, nothing saved); `kloset",
    'source add -h` (and store, destination) lists those of the protocols this kloset knows. Rendered',
    'from the manifests of the packages of this checkout:',
    '',
  ];
  for (const m of manifests) {
    const rows = optionRows(m);
    const roles = [...new Set(m.connectors.map((c) => ROLE_WORD[c.role]))].join(', ');
    lines.push(`### ${m.name}: ${protocolsLabel(m)}`, '', `${m.description} (${roles}).`, '');
    if (rows.length === 0) {
      lines.push('No options.', '');
      continue;
    }
    lines.push('| option | for | default | |', '|---|---|---|---|');
    for (const r of rows) {
      const dflt = r.default === undefined ? '' : `\`${esc(r.default)}\``;
      lines.push(`| \`${esc(r.key)}\` | ${r.roles.join(', ')} | ${dflt} | ${esc(r.description)} |`);
    }
    lines.push('');
  }
  return [...lines, ...S3_NOTES];
}

/** What the option table of `s3` cannot say in a row. */
const S3_NOTES: readonly string[] = [
  'Credentials of `s3`: `access_key` and `secret_access_key` (with `session_token` for temporary',
  "ones); else `profile=NAME`, a profile of the AWS shared files as the AWS CLI's `--profile` (its",
  'credentials, and its region when neither `region=` nor an AWS endpoint name gives one); else the',
  "AWS SDK's credential chain (`AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`, `AWS_PROFILE`,",
  '`~/.aws/credentials` and `~/.aws/config`, SSO, instance and container roles). The shared files',
  'are `AWS_CONFIG_FILE` and `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/config` and',
  '`~/.aws/credentials`. A profile (`profile=` or `AWS_PROFILE`) in neither fails in one line naming',
  "it and both files: `kloset at 's3://s3.eu-west-3.amazonaws.com/bucket?profile=work' ls`.",
  '',
  'Tags of a bucket source: a backup reads the headers, user metadata and tags of an object only when',
  'its listed ETag, size or LastModified differ from the previous snapshot, and changing the tags of',
  'an object changes none of those. To pick up tag-only changes, set `refresh_metadata=true` on the',
  'source (`kloset source set NAME refresh_metadata=true`): every object is then asked HeadObject and',
  'GetObjectTagging.',
  '',
];

export function renderReference(commands: readonly Command[], manifests: readonly ManifestOptions[]): string {
  const lines = [
    '# kloset command line reference',
    '',
    '<!-- Generated from packages/cli/src/commands by packages/cli/src/help/write-reference.ts;',
    '     a test fails when this file and the command table differ. Edit the commands, then rerun it. -->',
    '',
    '```',
    'kloset [-keyfile FILE] [-json] [-json-progress] [-quiet] [at LOCATION] COMMAND [flags] [args]',
    '```',
    '',
    "The grammar is Plakar's, with `kloset` in place of `plakar`. LOCATION is a path, a URL",
    '(`s3://...`) or `@NAME`, a named store (or `@NAME` source / destination where those go). Without `at`, the',
    'store is `$KLOSET_REPOSITORY`, else `~/.kloset`.',
    '',
    ...LOCATION_OPTIONS,
    'Flags are single-dash words: `-to DIR`, `-to=DIR`, `-fast`, `-fast=false`; `--to` works too. They may',
    'come before or after arguments; `--` ends them. `-h`, `-help` and `--help` show the help of any',
    'command, and of a group of commands with its subcommands (`kloset store -h`, `kloset help pkg`).',
    '`-json`, `-json-progress`, `-quiet` and (for commands on a store) `-keyfile FILE` are accepted',
    'before `at` or after the command.',
    '',
    'Snapshots are named by a prefix of their id (hex) or `latest`; `SNAPSHOT:PATH` names a path in one.',
    '',
    '**Snapshots of a source.** A backup records its source: protocol, origin (this host name for a',
    'directory; the endpoint and bucket for a bucket) and root (the absolute path; `/`, or the prefix,',
    'for a bucket). It is named `@NAME` when the source is the named source `@NAME`, else after its root',
    "(a directory's path; `/` for a whole bucket), unless `-name` says otherwise. `ls` shows both.",
    '`-source @NAME|PATH|URL`, accepted wherever snapshot filters are, matches the snapshots whose',
    'recorded source is the one a backup of `@NAME`, `PATH` or `URL` would record here (resolved as',
    '`backup` resolves it, nothing is read), and for `@NAME` also the snapshots named `@NAME`: so',
    'it finds the snapshots of a bucket taken before named sources named their snapshots (named `/`),',
    'and those of a named source moved to another location. A directory backed up on another machine',
    'records that host name: choose its snapshots there by id, or with `-name PATH`.',
    '',
    '**`latest`** is the newest snapshot matching the filters (`-tag`, `-name`, `-source`, `-since`,',
    '`-before`) when they are all of one source. When they come from several (two buckets, a bucket',
    'and a directory), every command that takes `latest` (`ls`, `info`, `cat`, `diff`, `restore`,',
    '`check`, `rm`, `sync`) refuses it rather than take whichever source was backed up last: it',
    'prints one line per source (name, source, newest snapshot id and time, the `-source` that',
    'chooses it) and exits 2. With one source in the store, `latest` is its newest snapshot.',
    '',
    '## Passphrase',
    '',
    'First found wins: `passphrase=` of a named store; `KLOSET_PASSPHRASE`; the first line of',
    '`-keyfile FILE`; a prompt without echo when stdin is a terminal (asked twice by `create`, both',
    'must match). Otherwise the command fails in one line: it never waits on a stdin that is not a',
    'terminal. A keyfile that gives no line within 10 s (a FIFO with no writer) fails in one line.',
    '`passphrase change` takes the new passphrase from `-new-keyfile FILE` or `KLOSET_NEW_PASSPHRASE`',
    '(not both), else from a prompt asked twice on a terminal.',
    '',
    ...PACKAGES_SECTION,
    ...optionsSection(manifests),
    '## Output',
    '',
    'Human text on stdout by default. Progress (entries, bytes, rate, ETA) is drawn on stderr only',
    'when stderr is a terminal, and never with `-quiet`; it is not part of the `-json` output. A',
    "backup's totals and ETA show once the walk of its source has ended (`1,200/5,000 entries`);",
    'before, the count found so far with a `+` (`1,200/3,000+ entries`). With `-json-progress` the',
    'line is not drawn: the progress of `backup`, `restore`, `check`, `sync`, `repair` and',
    '`maintenance` goes to stderr as JSON Lines events instead, whether stderr is a terminal or not',
    '(see below); stdout is unchanged. `-json-progress` with `-quiet` is a usage error (exit 2).',
    'Errors are one line on stderr, `kloset: <message>`, without a stack trace (`KLOSET_DEBUG=1`',
    'adds it). Entries that fail during a backup or restore, and problems found by check, are one',
    '`kloset: ...` line each on stderr.',
    'In human text, control characters in names and messages are escaped as `ls -b` does (`\\n`,',
    '`\\t`, `\\x1b`, C1 controls as `\\u009b`, a backslash as `\\\\`): a name cannot forge a line',
    'or drive the terminal. `-json` output carries names as they are.',
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
    '### Progress events (`-json-progress`)',
    '',
    '`-json-progress`, alone or with `-json`, writes the progress of a command as JSON Lines on',
    '**stderr** (stdout keeps only the results): at most one event a second while the operation',
    'runs, and always a last one with `"done": true` when it ends, successfully or not (the exit',
    'code and the result tell which): a short run writes at least that one. Other stderr lines are',
    '`kloset: ...` messages, so a line that starts with `{` is an event. Commands without progress',
    'write none. An event is:',
    '',
    '```',
    '{"type": "progress", "command": "backup", "elapsed_ms": 2000, "entries": 1200, "bytes": 10485760,',
    ' "total_entries": null, "total_bytes": null, "scanned_entries": 3000, "scanned_bytes": 20971520,',
    ' "eta_seconds": null, "rate_bytes_per_second": 5242880, "errors": 0, "done": false}',
    '```',
    '',
    '- `command`: `backup`, `restore`, `check`, `sync`, `repair` or `maintenance`. `elapsed_ms` counts',
    '  from the start of the operation; `entries` and `bytes` are done so far (`check`, `repair` and',
    '  `maintenance` count what they went through; `bytes` may stay 0).',
    '- `total_entries`, `total_bytes`: null until known (a restore knows them at once, a backup once',
    '  the walk of its source has ended).',
    "- `scanned_entries`, `scanned_bytes`: while a backup's walk runs, what it found so far, a lower",
    '  bound of the totals (never below `entries`, `bytes`); null once the totals are known, and for',
    '  commands without such a walk.',
    '- `eta_seconds`: whole seconds left at the rate so far (by bytes, or by entries when the total',
    '  holds no bytes), as the terminal line computes it; null while the totals or the rate are',
    '  unknown. `rate_bytes_per_second`: `bytes` over the time elapsed. `errors`: entries failed so far.',
    '- On the last event of a backup or restore that succeeded, `entries` and `bytes` are the',
    "  result's counts: for a backup, the snapshot's `files` + `directories` + `symlinks` + `errors`",
    '  and its `bytes`; for a restore, its `entries` + `skipped` and its `bytes`.',
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
