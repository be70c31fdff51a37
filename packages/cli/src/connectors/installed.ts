/**
 * Connector packages installed by `kloset pkg add` (layout: pkg/layout.ts): each package
 * directory holds manifest.json and the ESM entry point it names, which exports `manifest`, a
 * ConnectorManifest. Code is loaded only when a location needs a protocol the built-ins lack.
 */
import type { ConnectorManifest } from '@kloset/connector-contract';
import { readInstalled } from '../pkg/layout.ts';
import { loadPackageCode } from '../pkg/load.ts';

export interface InstalledPackage {
  readonly dir: string;
  readonly manifest: ConnectorManifest;
}

export interface LoadFailure {
  readonly dir: string;
  readonly error: string;
}

/** Every installed package, loaded; packages that fail to load are reported, not thrown. */
export async function loadInstalled(
  packagesDir: string,
): Promise<{ packages: InstalledPackage[]; failures: LoadFailure[] }> {
  const { packages: found, failures: unreadable } = await readInstalled(packagesDir);
  const packages: InstalledPackage[] = [];
  const failures: LoadFailure[] = unreadable.map((f) => ({ dir: f.dir, error: f.error }));
  for (const p of found) {
    try {
      packages.push({ dir: p.dir, manifest: await loadPackageCode(p.dir, p.manifest) });
    } catch (err) {
      failures.push({ dir: p.dir, error: (err as Error).message.split('\n')[0] ?? 'unknown error' });
    }
  }
  return { packages, failures };
}
