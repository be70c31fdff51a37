/** Builds a Source, Storage or Destination for a resolved location, options checked by the manifest. */
import {
  ConnectorError,
  type Destination,
  type Source,
  type Storage,
  validateOptions,
} from '@kloset/connector-contract';
import { CliError } from '../errors.ts';
import { RESERVED_KEYS, type ResolvedLocation } from '../location/location.ts';
import type { Connectors } from './connectors.ts';

type Built = { source: Source; storage: Storage; destination: Destination };

export async function connect<R extends keyof Built>(
  connectors: Connectors,
  role: R,
  where: ResolvedLocation,
  readOnly = false,
): Promise<Built[R]> {
  const connector = await connectors.resolve(role, where.location);
  let options: ReturnType<typeof validateOptions>;
  try {
    options = validateOptions(connector.options, where.options, RESERVED_KEYS);
  } catch (err) {
    if (err instanceof ConnectorError) throw new CliError(`${where.display}: ${err.message}`);
    throw err;
  }
  // The connector's create is typed per role; the registry guarantees the role matches.
  const create = connector.create as (p: {
    location: string;
    options: typeof options;
    readOnly?: boolean;
  }) => Promise<Built[R]>;
  return create({ location: where.location, options, ...(readOnly ? { readOnly } : {}) });
}
