/**
 * Package sources in a workspace checkout: npm packages whose package.json has
 *
 *   "kloset": { "package": "s3", "entry": "./src/index.ts" }
 *
 * (`package`: the name users type; `entry`: the module exporting the ConnectorManifest). The
 * workspace is the npm workspaces root above the CLI itself (a checkout of the kloset repository),
 * so `kloset pkg build s3` and `kloset pkg add s3` work offline from a checkout.
 */
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PACKAGE_NAME_PATTERN, VERSION_PATTERN } from './package-manifest.ts';

/** A package source: a directory that `pkg build` can turn into an archive. */
export interface PackageSource {
  /** The package name users type: `s3`. */
  readonly name: string;
  readonly dir: string;
  /** Its npm name and version: `@kloset/connector-s3`, `0.1.0`. */
  readonly npmName: string;
  readonly version: string;
  /** The module that exports the ConnectorManifest, relative to `dir`. */
  readonly entry: string;
  readonly description: string;
  /** The Node.js range of its `engines.node` (`>=22.15`). */
  readonly node: string;
  /** The connector contract version it depends on. */
  readonly contract: string;
}

interface PackageJson {
  readonly name?: unknown;
  readonly version?: unknown;
  readonly description?: unknown;
  readonly workspaces?: unknown;
  readonly engines?: { readonly node?: unknown };
  readonly dependencies?: Record<string, unknown>;
  readonly kloset?: { readonly package?: unknown; readonly entry?: unknown };
}

async function readPackageJson(dir: string): Promise<PackageJson | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as PackageJson;
  } catch {
    return undefined;
  }
}

/** The npm workspaces root at or above `start`, or undefined. */
export async function findWorkspaceRoot(start: string): Promise<string | undefined> {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    const pkg = await readPackageJson(dir);
    if (pkg && Array.isArray(pkg.workspaces)) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

/** The workspace this CLI runs from (its own checkout), or undefined when it is installed alone. */
export function cliWorkspaceRoot(): Promise<string | undefined> {
  return findWorkspaceRoot(fileURLToPath(new URL('../../', import.meta.url)));
}

/** Reads the package source in `dir`; throws one line when it is not one. */
export async function readPackageSource(dir: string): Promise<PackageSource> {
  const pkg = await readPackageJson(dir);
  if (!pkg) throw new Error(`${dir}: no readable package.json`);
  const k = pkg.kloset;
  const name = k?.package;
  if (typeof name !== 'string' || !PACKAGE_NAME_PATTERN.test(name)) {
    throw new Error(
      `${dir}: package.json has no "kloset": {"package": NAME} (not a connector package source)`,
    );
  }
  if (typeof pkg.version !== 'string' || !VERSION_PATTERN.test(pkg.version)) {
    throw new Error(`${dir}: package.json has no valid "version"`);
  }
  const node = typeof pkg.engines?.node === 'string' ? pkg.engines.node : '';
  if (!/^>=\d+\.\d+$/.test(node))
    throw new Error(`${dir}: package.json "engines.node" must read >=MAJOR.MINOR`);
  const contract = pkg.dependencies?.['@kloset/connector-contract'];
  if (typeof contract !== 'string') {
    throw new Error(`${dir}: package.json does not depend on @kloset/connector-contract`);
  }
  return {
    name,
    dir,
    npmName: typeof pkg.name === 'string' ? pkg.name : name,
    version: pkg.version,
    entry: typeof k?.entry === 'string' ? k.entry : './src/index.ts',
    description: typeof pkg.description === 'string' ? pkg.description : '',
    node,
    contract: contract.replace(/^[\^~=]/, ''),
  };
}

/** Every package source of the workspace at `root` (its `dir/*` workspace patterns). */
export async function workspacePackageSources(root: string): Promise<PackageSource[]> {
  const pkg = await readPackageJson(root);
  const patterns = Array.isArray(pkg?.workspaces) ? pkg.workspaces : [];
  const out: PackageSource[] = [];
  for (const pattern of patterns) {
    if (typeof pattern !== 'string' || !pattern.endsWith('/*')) continue;
    const parent = join(root, pattern.slice(0, -2));
    const names = await readdir(parent).catch(() => [] as string[]);
    for (const n of names.sort()) {
      const dir = join(parent, n);
      const p = await readPackageJson(dir);
      if (typeof p?.kloset?.package === 'string') out.push(await readPackageSource(dir));
    }
  }
  return out;
}
