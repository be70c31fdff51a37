/** Builds a Source, Storage or Destination for a resolved location, options checked by the manifest. */
import {
  ConnectorError,
  type Destination,
  type Source,
  type Storage,
  validateOptions,
} from '@kloset/connector-contract';
import { CliError, UsageError } from '../errors.ts';
import { RESERVED_KEYS, type ResolvedLocation } from '../location/location.ts';
import { secretInUrl } from '../location/location-query.ts';
import type { Connectors } from './connectors.ts';

type Built = { source: Source; storage: Storage; destination: Destination };

/**
 * `readOnly`: a destination that creates nothing. `asOf` (storage only): the store as it was then,
 * read-only; a store whose connector cannot (a local directory) is refused in one line.
 */
export async function connect<R extends keyof Built>(
  connectors: Connectors,
  role: R,
  where: ResolvedLocation,
  readOnly = false,
  asOf?: number,
): Promise<Built[R]> {
  const connector = await connectors.resolve(role, where.location);
  if (asOf !== undefined && !(connector.role === 'storage' && connector.asOf === true)) {
    throw new UsageError(
      `-as-of: store ${where.display} cannot be read as it was: only stores that keep the versions of their objects can (an S3 bucket with versioning, as Object Lock buckets have)`,
    );
  }
  let options: ReturnType<typeof validateOptions>;
  try {
    if (where.typed) {
      // Options typed in a URL: the connector's secrets stay out of it too, and a bad one is the
      // command line's fault (exit 2), checked as `store add` checks them.
      const secret = connector.options.find((o) => o.secret && Object.hasOwn(where.options, o.name));
      if (secret) throw new UsageError(secretInUrl(where.location, secret.name));
    }
    options = validateOptions(connector.options, where.options, RESERVED_KEYS);
    if (where.typed) connector.checkOptions?.({ location: where.location, options: where.options });
  } catch (err) {
    if (err instanceof ConnectorError) {
      // Typed options: the location without its query, so that no value typed there is echoed.
      if (where.typed) throw new UsageError(`${where.location}: ${err.message}`);
      throw new CliError(`${where.display}: ${err.message}`);
    }
    throw err;
  }
  // The connector's create is typed per role; the registry guarantees the role matches.
  const create = connector.create as (p: {
    location: string;
    options: typeof options;
    readOnly?: boolean;
    asOf?: number;
  }) => Promise<Built[R]>;
  return create({
    location: where.location,
    options,
    ...(readOnly ? { readOnly } : {}),
    ...(asOf !== undefined ? { asOf } : {}),
  });
}
