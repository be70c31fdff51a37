/** Connectors by protocol and role. */
import { ConnectorError } from '../errors/connector-error.ts';
import type {
  Connector,
  ConnectorManifest,
  ConnectorRole,
  DestinationConnector,
  SourceConnector,
  StorageConnector,
} from './manifest.ts';

type ByRole = { source: SourceConnector; storage: StorageConnector; destination: DestinationConnector };

/**
 * The protocol of a location: the URL scheme (`s3://...` -> `s3`), or `fs` for a plain path
 * (`/var/backups`, `./x`, `~/x`) and for `fs://` locations.
 */
export function protocolOf(location: string): string {
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(location);
  return m ? m[1]!.toLowerCase() : 'fs';
}

/**
 * What is wrong with a location that starts like a URL but is not one: a scheme of two or more
 * characters and a colon, without the `//` after it (`s3:/host/b`, `s3:host/b`, `S3:/host/b`).
 * protocolOf would take it for a local path (`fs`). Undefined for every other location. (One
 * letter and a colon is left alone: a drive letter.) The message says which form is expected.
 */
export function malformedLocation(location: string): string | undefined {
  const m = /^([a-z][a-z0-9+.-]+):(?!\/\/)\/*(.*)$/is.exec(location);
  if (!m) return undefined;
  const protocol = m[1]!.toLowerCase();
  return (
    `location ${JSON.stringify(location)} is malformed: expected ${protocol}://... ` +
    `(did you mean "${protocol}://${m[2]}"? a local path with a colon: "./${location}")`
  );
}

/** Like malformedLocation, but throws ConnectorError `invalid` with its message. */
export function checkLocationSyntax(location: string): void {
  const why = malformedLocation(location);
  if (why !== undefined) throw new ConnectorError('invalid', why, { key: location });
}

export class ConnectorRegistry {
  readonly #manifests = new Map<string, ConnectorManifest>();

  register(manifest: ConnectorManifest): void {
    this.#manifests.set(manifest.name, manifest);
  }

  unregister(name: string): void {
    this.#manifests.delete(name);
  }

  manifests(): ConnectorManifest[] {
    return [...this.#manifests.values()];
  }

  /** The connector for this role and protocol, or undefined. */
  find<R extends ConnectorRole>(role: R, protocol: string): ByRole[R] | undefined {
    for (const m of this.#manifests.values()) {
      for (const c of m.connectors) {
        if (c.role === role && c.protocols.includes(protocol)) return c as Connector as ByRole[R];
      }
    }
    return undefined;
  }

  /** Like find, but fails with one line saying which package to add. */
  resolve<R extends ConnectorRole>(role: R, location: string): ByRole[R] {
    checkLocationSyntax(location);
    const protocol = protocolOf(location);
    const found = this.find(role, protocol);
    if (!found) {
      throw new ConnectorError(
        'invalid',
        `no ${role} connector installed for ${protocol}:// locations (try: kloset pkg add ${protocol})`,
        { key: location },
      );
    }
    return found;
  }
}
