/**
 * Connector packages installed by `kloset pkg add`: one directory per package under the packages
 * directory (see config/paths.ts), each an npm package whose entry point exports `manifest`, a
 * ConnectorManifest.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ConnectorManifest } from '@kloset/connector-contract';

export interface InstalledPackage {
  readonly dir: string;
  readonly manifest: ConnectorManifest;
}

export interface LoadFailure {
  readonly dir: string;
  readonly error: string;
}

interface PackageJson {
  readonly main?: unknown;
  readonly exports?: unknown;
}

/** The ESM entry point of a package directory, from `exports` or `main`. */
export function entryPoint(pkg: PackageJson): string {
  const exp = pkg.exports;
  const pick = (v: unknown): string | undefined => {
    if (typeof v === 'string') return v;
    if (typeof v === 'object' && v !== null) {
      const o = v as Record<string, unknown>;
      return pick(o['.']) ?? pick(o.import) ?? pick(o.node) ?? pick(o.default);
    }
    return undefined;
  };
  return pick(exp) ?? (typeof pkg.main === 'string' ? pkg.main : 'index.js');
}

export function isManifest(v: unknown): v is ConnectorManifest {
  if (typeof v !== 'object' || v === null) return false;
  const m = v as Record<string, unknown>;
  return (
    typeof m.name === 'string' &&
    typeof m.version === 'string' &&
    Array.isArray(m.connectors) &&
    m.connectors.every(
      (c: unknown) =>
        typeof c === 'object' &&
        c !== null &&
        typeof (c as Record<string, unknown>).role === 'string' &&
        Array.isArray((c as Record<string, unknown>).protocols) &&
        typeof (c as Record<string, unknown>).create === 'function',
    )
  );
}

export async function loadPackage(dir: string): Promise<InstalledPackage> {
  const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as PackageJson;
  const mod = (await import(pathToFileURL(join(dir, entryPoint(pkg))).href)) as Record<string, unknown>;
  const manifest = mod.manifest ?? (mod.default as Record<string, unknown> | undefined)?.manifest;
  if (!isManifest(manifest)) throw new Error('its entry point does not export a connector manifest');
  return { dir, manifest };
}

/** Every installed package; packages that fail to load are reported, not thrown. */
export async function loadInstalled(
  packagesDir: string,
): Promise<{ packages: InstalledPackage[]; failures: LoadFailure[] }> {
  let names: string[];
  try {
    names = (await readdir(packagesDir, { withFileTypes: true }))
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { packages: [], failures: [] };
    throw err;
  }
  const packages: InstalledPackage[] = [];
  const failures: LoadFailure[] = [];
  for (const name of names.sort()) {
    const dir = join(packagesDir, name);
    try {
      packages.push(await loadPackage(dir));
    } catch (err) {
      failures.push({ dir, error: (err as Error).message.split('\n')[0] ?? 'unknown error' });
    }
  }
  return { packages, failures };
}
