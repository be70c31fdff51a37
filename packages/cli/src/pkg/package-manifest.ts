/**
 * `manifest.json`, the first file of a package archive and of an installed package directory:
 * what the package is (name, version, platform), what it plays (roles, protocols, options), what it
 * needs from the host (Node, connector contract), and the size and SHA-256 of each of its files.
 * `pkg list` reads it without loading any code; `pkg add` checks every file against it.
 */
import type { ConnectorRole, OptionSpec } from '@kloset/connector-contract';

/** The archive format this CLI writes and reads. */
export const PACKAGE_FORMAT = 1;
export const MANIFEST_FILE = 'manifest.json';

/** Package names as users type them: `s3`, `gcs`, `sftp`. */
export const PACKAGE_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** Versions: `MAJOR.MINOR.PATCH` with an optional `-prerelease`. */
export const VERSION_PATTERN = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/;
/** Paths of files inside a package: relative, `/`-separated, no `.` or `..` segments. */
const FILE_PATH_PATTERN = /^(?!.*(?:^|\/)\.\.?(?:\/|$))[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/;

export interface PackageConnector {
  readonly role: ConnectorRole;
  readonly protocols: readonly string[];
  readonly options: readonly OptionSpec[];
}

export interface PackageFile {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
}

export interface PackageManifest {
  readonly format: typeof PACKAGE_FORMAT;
  readonly name: string;
  readonly version: string;
  readonly description: string;
  /** `linux_x64`, `darwin_arm64`: where it was built and may be installed. */
  readonly platform: string;
  /** The connector contract version it was built against (the host provides the contract). */
  readonly contract: string;
  /** The Node.js versions it runs on, as `>=MAJOR.MINOR`. */
  readonly node: string;
  /** The ESM file that exports `manifest`, a ConnectorManifest. */
  readonly entry: string;
  readonly connectors: readonly PackageConnector[];
  /** Every file of the package but manifest.json. */
  readonly files: readonly PackageFile[];
  /** What it was built from: the npm package name and version of its source. */
  readonly source: { readonly package: string; readonly version: string };
}

const ROLES: readonly string[] = ['source', 'storage', 'destination'];

type Obj = Record<string, unknown>;

function obj(v: unknown, what: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${what} must be an object`);
  return v as Obj;
}

function str(o: Obj, key: string, pattern?: RegExp): string {
  const v = o[key];
  if (typeof v !== 'string' || (pattern && !pattern.test(v))) {
    throw new Error(`"${key}" is missing or malformed (${JSON.stringify(v ?? null)})`);
  }
  return v;
}

function arr(o: Obj, key: string): unknown[] {
  const v = o[key];
  if (!Array.isArray(v)) throw new Error(`"${key}" must be an array`);
  return v;
}

function optionSpec(v: unknown): OptionSpec {
  const o = obj(v, 'an option');
  str(o, 'name');
  str(o, 'type', /^(string|boolean|integer|enum)$/);
  if (typeof o.required !== 'boolean')
    throw new Error(`option ${String(o.name)}: "required" must be a boolean`);
  return o as unknown as OptionSpec;
}

function connector(v: unknown): PackageConnector {
  const o = obj(v, 'a connector');
  const role = str(o, 'role');
  if (!ROLES.includes(role)) throw new Error(`unknown connector role ${JSON.stringify(role)}`);
  const protocols = arr(o, 'protocols');
  if (
    protocols.length === 0 ||
    !protocols.every((p) => typeof p === 'string' && /^[a-z][a-z0-9+.-]*$/.test(p))
  )
    throw new Error(`connector ${role}: "protocols" must be lowercase URL schemes`);
  return {
    role: role as ConnectorRole,
    protocols: protocols as string[],
    options: arr(o, 'options').map(optionSpec),
  };
}

function file(v: unknown): PackageFile {
  const o = obj(v, 'a file');
  const path = str(o, 'path', FILE_PATH_PATTERN);
  if (path === MANIFEST_FILE) throw new Error(`"files" must not list ${MANIFEST_FILE}`);
  const size = o.size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)
    throw new Error(`file ${path}: "size" must be a byte count`);
  return { path, size, sha256: str(o, 'sha256', /^[0-9a-f]{64}$/) };
}

/** True when `path` may name a file inside a package (used for archive entries too). */
export function isPackageFilePath(path: string): boolean {
  return FILE_PATH_PATTERN.test(path) && Buffer.byteLength(path) <= 100;
}

/** Checks a parsed manifest.json; throws one line naming the first problem. */
export function parsePackageManifest(raw: unknown): PackageManifest {
  const o = obj(raw, MANIFEST_FILE);
  if (o.format !== PACKAGE_FORMAT)
    throw new Error(
      `unsupported package format ${JSON.stringify(o.format ?? null)} (this kloset reads ${PACKAGE_FORMAT})`,
    );
  const files = arr(o, 'files').map(file);
  const paths = new Set<string>();
  for (const f of files) {
    if (paths.has(f.path)) throw new Error(`file ${f.path} is listed twice`);
    paths.add(f.path);
  }
  const entry = str(o, 'entry', FILE_PATH_PATTERN);
  if (!paths.has(entry)) throw new Error(`the entry point ${entry} is not among the files`);
  const source = obj(o.source, '"source"');
  const connectors = arr(o, 'connectors').map(connector);
  if (connectors.length === 0) throw new Error('the package has no connectors');
  return {
    format: PACKAGE_FORMAT,
    name: str(o, 'name', PACKAGE_NAME_PATTERN),
    version: str(o, 'version', VERSION_PATTERN),
    description: typeof o.description === 'string' ? o.description : '',
    platform: str(o, 'platform', /^[a-z0-9]+_[a-z0-9]+$/),
    contract: str(o, 'contract', VERSION_PATTERN),
    node: str(o, 'node', /^>=\d+\.\d+$/),
    entry,
    connectors,
    files,
    source: { package: str(source, 'package'), version: str(source, 'version') },
  };
}

/** The roles of a package, in the order source, storage, destination. */
export function rolesOf(m: { readonly connectors: readonly { readonly role: string }[] }): string[] {
  return ROLES.filter((r) => m.connectors.some((c) => c.role === r));
}

/** The protocols of a package, sorted, without duplicates. */
export function protocolsOf(m: {
  readonly connectors: readonly { readonly protocols: readonly string[] }[];
}): string[] {
  return [...new Set(m.connectors.flatMap((c) => c.protocols))].sort();
}
