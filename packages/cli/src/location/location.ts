/**
 * A location as typed by the user (`/var/backups`, `s3://host/bucket`, `@name`) resolved to what
 * a connector needs: the full location, the options of a named configuration, its passphrase.
 */
import { malformedLocation, protocolOf } from '@kloset/connector-contract';
import type { ConfigKind, NamedConfig } from '../config/named-config.ts';
import { absolutePath, type Env } from '../config/paths.ts';
import { CliError, UsageError } from '../errors.ts';
import { splitLocationQuery } from './location-query.ts';

export interface ResolvedLocation {
  /** What the user typed, for messages: `@my-store`, `/var/backups`. */
  readonly display: string;
  /** The location handed to the connector: absolute for local paths. */
  readonly location: string;
  /** Options of the named configuration (raw strings), less `location` and `passphrase`. */
  readonly options: Readonly<Record<string, string>>;
  /** `passphrase=` of the named configuration. */
  readonly passphrase?: string;
  /** The NAME of `@NAME`. */
  readonly name?: string;
  /** The options came from the command line (a query string): a bad one is a usage error. */
  readonly typed?: boolean;
}

/** Keys of a named configuration that are the CLI's, not the connector's. */
export const RESERVED_KEYS: readonly string[] = ['location', 'passphrase'];

export function isNamed(raw: string): boolean {
  return raw.startsWith('@');
}

/**
 * Local paths are made absolute; URLs are kept as typed. A location that starts like a URL without
 * its `//` (`s3:/host/b`) is refused (UsageError) rather than taken for a local path.
 */
export function normalizeLocation(raw: string, cwd: string, env: Env): string {
  const malformed = malformedLocation(raw);
  if (malformed !== undefined) throw new UsageError(malformed);
  if (protocolOf(raw) === 'fs' && !/^fs:\/\//i.test(raw)) return absolutePath(raw, cwd, env);
  return raw;
}

/** A resolved location for messages: `@NAME (LOCATION)` for a named one, else the location. */
export function describeLocation(where: ResolvedLocation): string {
  return where.name !== undefined ? `${where.display} (${where.location})` : where.location;
}

/** `config` is loaded only for `@NAME`. */
export async function resolveLocation(
  raw: string,
  kind: ConfigKind,
  config: () => Promise<NamedConfig>,
  cwd: string,
  env: Env,
): Promise<ResolvedLocation> {
  if (!isNamed(raw)) {
    const { location, options } = splitLocationQuery(raw);
    const resolved = { display: raw, location: normalizeLocation(location, cwd, env), options };
    return Object.keys(options).length ? { ...resolved, typed: true } : resolved;
  }
  const name = raw.slice(1);
  const entry = (await config()).require(kind, name);
  const options: Record<string, string> = {};
  for (const [k, v] of Object.entries(entry)) if (!RESERVED_KEYS.includes(k)) options[k] = v;
  let location: string;
  try {
    location = normalizeLocation(entry.location, cwd, env);
  } catch (err) {
    // Saved in the configuration (by hand, or by an older kloset): not this command line's fault.
    if (err instanceof UsageError)
      throw new CliError(`${kind} ${raw}: ${err.message}`, undefined, { cause: err });
    throw err;
  }
  const resolved: ResolvedLocation = { display: raw, name, location, options };
  return entry.passphrase !== undefined ? { ...resolved, passphrase: entry.passphrase } : resolved;
}
