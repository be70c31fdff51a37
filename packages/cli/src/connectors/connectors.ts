/**
 * The connectors the CLI can use: the built-in fs connectors, then installed connector packages,
 * loaded only when a location needs a protocol the built-ins do not handle.
 */
import {
  type ConnectorManifest,
  ConnectorRegistry,
  type ConnectorRole,
  type DestinationConnector,
  protocolOf,
  type SourceConnector,
  type StorageConnector,
} from '@kloset/connector-contract';
import { CliError } from '../errors.ts';
import { type LoadFailure, loadInstalled } from './installed.ts';

type ByRole = { source: SourceConnector; storage: StorageConnector; destination: DestinationConnector };

export class Connectors {
  readonly registry = new ConnectorRegistry();
  readonly #packagesDir: string;
  readonly #builtins: readonly string[];
  /** The one load of the installed packages, shared by every caller, concurrent ones included. */
  #installed: Promise<readonly LoadFailure[]> | undefined;

  constructor(packagesDir: string, builtins: readonly ConnectorManifest[]) {
    this.#packagesDir = packagesDir;
    this.#builtins = builtins.map((m) => m.name);
    for (const m of builtins) this.registry.register(m);
  }

  /** The names of the built-in connector packages (`fs`): no installed package may take them. */
  builtinNames(): string[] {
    return [...this.#builtins];
  }

  /** The built-in manifests. */
  builtins(): ConnectorManifest[] {
    return this.registry.manifests().filter((m) => this.#builtins.includes(m.name));
  }

  /**
   * Loads installed packages once: every caller, also one that asks while the first load is still
   * under way, waits for that same load. Built-ins keep precedence for the protocols they handle.
   */
  loadInstalled(): Promise<readonly LoadFailure[]> {
    this.#installed ??= loadInstalled(this.#packagesDir).then(({ packages, failures }) => {
      for (const p of packages)
        if (!this.#builtins.includes(p.manifest.name)) this.registry.register(p.manifest);
      return failures;
    });
    return this.#installed;
  }

  /** The connector for `location` in `role`, or one line saying which package to add. */
  async resolve<R extends ConnectorRole>(role: R, location: string): Promise<ByRole[R]> {
    const protocol = protocolOf(location);
    let found = this.registry.find(role, protocol);
    if (!found) {
      const failures = await this.loadInstalled();
      found = this.registry.find(role, protocol);
      if (!found) {
        const broken = failures.length
          ? ` (${failures.length} installed package(s) failed to load: see kloset pkg list)`
          : '';
        throw new CliError(
          `no ${role} connector for ${protocol}:// locations is installed: add it with "kloset pkg add ${protocol}"${broken}`,
        );
      }
    }
    return found;
  }
}
