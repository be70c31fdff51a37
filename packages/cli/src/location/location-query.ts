/**
 * Options in a one-off location: `s3://host/bucket/prefix?use_tls=false&region=eu-west-3`. The query
 * string of a URL location (any protocol but `fs`: a local path may hold a `?`) is split off into
 * options, each key and value percent-decoded; the connector's option checks then apply as to
 * `store add`. Keys and passphrases never go in a URL: they would show in shell history and in
 * process lists; they come from a named configuration, the environment or a profile.
 */
import { protocolOf } from '@kloset/connector-contract';
import { UsageError } from '../errors.ts';

/** Options refused in a URL, whatever the connector says (it may call them secret too). */
export const SECRET_IN_URL: readonly string[] = [
  'access_key',
  'secret_access_key',
  'session_token',
  'passphrase',
];

export interface SplitLocation {
  /** The location without its query string. */
  readonly location: string;
  /** The options of the query string, decoded; empty when there is none. */
  readonly options: Readonly<Record<string, string>>;
}

function decode(part: string, base: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new UsageError(`location ${JSON.stringify(base)}: bad percent-encoding in ${JSON.stringify(part)}`);
  }
}

/**
 * The message refusing a secret option given in a URL. It names the location without its query,
 * and never the value: a message must not spread the secret it refuses.
 */
export function secretInUrl(base: string, key: string): string {
  return (
    `location ${JSON.stringify(base)}: ${key} does not go in a location (it would show in shell history ` +
    `and process lists): give it to a named configuration ("kloset store add NAME LOCATION ${key}=..."), ` +
    'or use the environment or profile='
  );
}

/** The key of a `KEY=VALUE` part, decoded when it can be (for the check of secrets). */
function keyOf(pair: string): string {
  const eq = pair.indexOf('=');
  const raw = eq < 0 ? pair : pair.slice(0, eq);
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * Splits `raw` into its location and the options of its query string (UsageError when malformed).
 * Secrets are refused first, and messages quote the location without its query: what is quoted
 * back never holds a secret.
 */
export function splitLocationQuery(raw: string): SplitLocation {
  const q = raw.indexOf('?');
  if (q < 0 || protocolOf(raw) === 'fs') return { location: raw, options: {} };
  const base = raw.slice(0, q);
  const pairs = raw
    .slice(q + 1)
    .split('&')
    .filter((p) => p !== '');
  const secret = pairs.map(keyOf).find((k) => SECRET_IN_URL.includes(k));
  if (secret !== undefined) throw new UsageError(secretInUrl(base, secret));
  const where = `location ${JSON.stringify(base)}`;
  const options: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0)
      throw new UsageError(`${where}: expected KEY=VALUE in its query, got ${JSON.stringify(pair)}`);
    const key = decode(pair.slice(0, eq), base);
    if (key === 'location') throw new UsageError(`${where}: location cannot be an option`);
    if (Object.hasOwn(options, key)) throw new UsageError(`${where}: ${key} given twice`);
    options[key] = decode(pair.slice(eq + 1), base);
  }
  return { location: base, options };
}
