/**
 * Where the NEW passphrase of `passphrase change` comes from (the current one comes the usual way,
 * passphrase.ts):
 *
 * 1. `-new-keyfile FILE`: the first line of FILE (keyfile.ts);
 * 2. the KLOSET_NEW_PASSPHRASE environment variable;
 * 3. a prompt without echo, asked twice (they must match), when stdin is a terminal;
 * 4. otherwise one clear error, given before the store is opened. Both 1 and 2 at once is refused:
 *    which one was meant cannot be guessed.
 */
import { absolutePath } from '../config/paths.ts';
import { MissingPassphraseError, PassphraseError, UsageError } from '../errors.ts';
import type { Io } from '../io/io.ts';
import { readKeyfile } from './keyfile.ts';
import { readHidden } from './prompt.ts';

const ENV = 'KLOSET_NEW_PASSPHRASE';

/** Throws, before anything is opened, when no new passphrase can be had (see the module comment). */
export function checkNewPassphraseSource(io: Io, newKeyfile: string | undefined, command: string): void {
  if (newKeyfile !== undefined && io.env[ENV]) {
    throw new UsageError(`give the new passphrase one way: -new-keyfile or ${ENV}, not both`, command);
  }
  if (newKeyfile === undefined && !io.env[ENV] && !io.stdinIsTTY) {
    throw new MissingPassphraseError(
      `a new passphrase is needed: set ${ENV}, pass -new-keyfile FILE, or run from a terminal to be asked`,
    );
  }
}

/** The new passphrase for the store `what` (for the prompt); never empty. */
export async function obtainNewPassphrase(
  io: Io,
  newKeyfile: string | undefined,
  what: string,
): Promise<string> {
  if (newKeyfile !== undefined) {
    return readKeyfile(absolutePath(newKeyfile, io.cwd, io.env), { signal: io.signal });
  }
  const env = io.env[ENV];
  if (env) return env;
  const first = await readHidden(io.stdin, io.stderr, `new passphrase for ${what}: `);
  if (first === '') throw new PassphraseError('the new passphrase cannot be empty');
  const again = await readHidden(io.stdin, io.stderr, 'new passphrase (again): ');
  if (again !== first) throw new PassphraseError('the new passphrases do not match');
  return first;
}
