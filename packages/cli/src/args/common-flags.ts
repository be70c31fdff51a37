/** Flags every command takes, and the flags of stores. */
import type { FlagSpec } from './flags.ts';

export const HELP_FLAG: FlagSpec = {
  name: 'help',
  kind: 'boolean',
  aliases: ['h'],
  description: 'show this help and exit',
};
export const JSON_FLAG: FlagSpec = {
  name: 'json',
  kind: 'boolean',
  description: 'print JSON on stdout: one object per line (JSON Lines)',
};
export const JSON_PROGRESS_FLAG: FlagSpec = {
  name: 'json-progress',
  kind: 'boolean',
  description: 'print progress on stderr as JSON Lines, terminal or not (not with -quiet)',
};
export const QUIET_FLAG: FlagSpec = {
  name: 'quiet',
  kind: 'boolean',
  description: 'print nothing but errors (and -json output)',
};
export const KEYFILE_FLAG: FlagSpec = {
  name: 'keyfile',
  kind: 'string',
  value: 'FILE',
  description: 'read the passphrase from FILE (its first line)',
};

/** -as-of TIME: the read commands read the store as it was then (snapshot-selection.ts parses it). */
export const AS_OF_FLAG: FlagSpec = {
  name: 'as-of',
  kind: 'string',
  value: 'TIME',
  description:
    'read the store as it was at TIME (2025-01-31T13:45:00Z, or 2h for two hours ago), before any later delete or overwrite: only stores that keep object versions (an S3 bucket with versioning or Object Lock)',
};

export const VERBOSE_FLAG: FlagSpec = {
  name: 'verbose',
  kind: 'boolean',
  description: 'also log retries of storage calls on stderr (as KLOSET_DEBUG=1 does)',
};

/** Flags accepted before `at` / the command, and by every command. */
export const GLOBAL_FLAGS: readonly FlagSpec[] = [
  HELP_FLAG,
  JSON_FLAG,
  JSON_PROGRESS_FLAG,
  QUIET_FLAG,
  VERBOSE_FLAG,
  KEYFILE_FLAG,
];

/** The flags of a command: its own plus the common ones. */
export function withCommonFlags(own: readonly FlagSpec[], usesStore: boolean): FlagSpec[] {
  return [
    ...own,
    JSON_FLAG,
    JSON_PROGRESS_FLAG,
    QUIET_FLAG,
    VERBOSE_FLAG,
    ...(usesStore ? [KEYFILE_FLAG] : []),
    HELP_FLAG,
  ];
}
