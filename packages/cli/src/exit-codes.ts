/**
 * Exit codes of every kloset command. Documented in `kloset help` and docs/cli.md (a test keeps
 * them in step).
 */
export const ExitCode = {
  /** Everything asked for was done. */
  Ok: 0,
  /**
   * The command failed: nothing or not everything was done (bad store, wrong passphrase, a keyfile
   * that gives no line within 10 s, I/O...).
   */
  Error: 1,
  /** The command line was wrong: unknown command or flag, missing or extra argument, bad value. */
  Usage: 2,
  /** Done, but some entries failed (backup could not read them, restore could not write them). */
  Partial: 3,
  /** `check` (or a restore, or `ls` of a snapshot header) found data that is missing or fails verification; `repair` lost some. */
  Integrity: 4,
  /** Interrupted by SIGINT / SIGTERM. */
  Interrupted: 130,
  /** Standard output was closed by its reader (`kloset cat ... | head`): stopped quietly, as on SIGPIPE. */
  OutputClosed: 141,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** One line per code, for help and docs. */
export const EXIT_CODE_DOCS: readonly { readonly code: ExitCode; readonly meaning: string }[] = [
  { code: ExitCode.Ok, meaning: 'success' },
  { code: ExitCode.Error, meaning: 'error: the command failed (store, passphrase, connector, I/O)' },
  {
    code: ExitCode.Usage,
    meaning: 'usage error: unknown command or flag, missing or extra argument, bad value',
  },
  { code: ExitCode.Partial, meaning: 'partial: done, but some entries failed (listed on stderr / in -json)' },
  {
    code: ExitCode.Integrity,
    meaning: 'integrity problem: missing or corrupt data found (check, restore, ls), or lost (repair)',
  },
  { code: ExitCode.Interrupted, meaning: 'interrupted (SIGINT/SIGTERM)' },
  { code: ExitCode.OutputClosed, meaning: 'standard output closed by its reader (e.g. piped into head)' },
];
