/**
 * Where the passphrase of a store comes from, first found wins:
 *
 * 1. `passphrase=` in the named store (`@NAME`) configuration;
 * 2. the KLOSET_PASSPHRASE environment variable;
 * 3. `-keyfile FILE`: the first line of FILE, within 10 s (keyfile.ts: a FIFO with no writer fails);
 * 4. a prompt without echo, when stdin is a terminal (asked twice at `create`, must match);
 * 5. otherwise one clear error. Nothing ever waits on a stdin that is not a terminal.
 */
import { MissingPassphraseError, PassphraseError } from '../errors.ts';
import type { Io } from '../io/io.ts';
import { readKeyfile } from './keyfile.ts';
import { readHidden } from './prompt.ts';

export interface PassphraseOptions {
  /** From the named store configuration. */
  readonly configured?: string | undefined;
  /** The -keyfile path, already absolute. */
  readonly keyfile?: string | undefined;
}

export type PassphraseOrigin = 'config' | 'env' | 'keyfile' | 'prompt';

export interface Passphrase {
  readonly value: string;
  readonly origin: PassphraseOrigin;
}

const MISSING =
  'a passphrase is needed: set KLOSET_PASSPHRASE, pass -keyfile FILE, or run from a terminal to be asked';

/**
 * The passphrase for `what` (a store location, for the prompt). With `confirm` (create), a
 * prompted passphrase is asked twice and must match; passphrases from elsewhere are taken as is.
 */
export async function obtainPassphrase(
  io: Io,
  opts: PassphraseOptions,
  what: string,
  confirm: boolean,
): Promise<Passphrase> {
  if (opts.configured) return { value: opts.configured, origin: 'config' };
  const env = io.env.KLOSET_PASSPHRASE;
  if (env) return { value: env, origin: 'env' };
  if (opts.keyfile)
    return { value: await readKeyfile(opts.keyfile, { signal: io.signal }), origin: 'keyfile' };
  if (!io.stdinIsTTY) throw new MissingPassphraseError(MISSING);
  const first = await readHidden(io.stdin, io.stderr, `passphrase for ${what}: `);
  if (first === '') throw new PassphraseError('the passphrase cannot be empty');
  if (confirm) {
    const again = await readHidden(io.stdin, io.stderr, 'passphrase (again): ');
    if (again !== first) throw new PassphraseError('the passphrases do not match');
  }
  return { value: first, origin: 'prompt' };
}
