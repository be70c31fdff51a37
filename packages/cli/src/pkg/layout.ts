/**
 * The packages directory ($XDG_DATA_HOME/kloset/packages):
 *
 *   s3 -> .store/s3-0.1.0-1f2e3d4c     a symlink per installed package (a plain directory is read too)
 *   .store/s3-0.1.0-1f2e3d4c/          manifest.json, index.js: the extracted archive
 *
 * A package is extracted into a fresh directory under .store, checked, and only then made
 * visible by renaming a new symlink over `NAME`: one atomic rename, so another kloset process
 * sees the old package or the new one, never a half-written one. The replaced directory is removed
 * afterwards. Directories under .store that no symlink names (an interrupted add) are swept after
 * an hour.
 */
import { randomBytes } from 'node:crypto';
import {
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  stat,
  symlink,
  unlink,
} from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { MANIFEST_FILE, type PackageManifest, parsePackageManifest } from './package-manifest.ts';

const STORE = '.store';
const ORPHAN_AGE_MS = 60 * 60 * 1000;

export interface InstalledManifest {
  readonly name: string;
  /** The directory holding manifest.json and the files (symlink resolved). */
  readonly dir: string;
  readonly manifest: PackageManifest;
}

export interface InstalledFailure {
  readonly name: string;
  readonly dir: string;
  readonly error: string;
}

const rand = () => randomBytes(4).toString('hex');

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** The manifest of a package directory. */
export async function readManifestIn(dir: string): Promise<PackageManifest> {
  const text = await readFile(join(dir, MANIFEST_FILE), 'utf8');
  return parsePackageManifest(JSON.parse(text));
}

/** Where `name` is installed (symlink resolved), or undefined. */
export async function installedDir(packagesDir: string, name: string): Promise<string | undefined> {
  const link = join(packagesDir, name);
  try {
    const st = await lstat(link);
    if (st.isSymbolicLink()) return resolve(packagesDir, await readlink(link));
    return st.isDirectory() ? link : undefined;
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

/** Every installed package, by name; unreadable ones are failures, not errors. Loads no code. */
export async function readInstalled(
  packagesDir: string,
): Promise<{ packages: InstalledManifest[]; failures: InstalledFailure[] }> {
  let names: string[];
  try {
    names = (await readdir(packagesDir)).filter((n) => !n.startsWith('.')).sort();
  } catch (err) {
    if (isMissing(err)) return { packages: [], failures: [] };
    throw err;
  }
  const packages: InstalledManifest[] = [];
  const failures: InstalledFailure[] = [];
  for (const name of names) {
    const dir = await installedDir(packagesDir, name);
    if (dir === undefined) continue;
    try {
      if (!(await stat(dir)).isDirectory()) throw new Error('not a directory');
      packages.push({ name, dir, manifest: await readManifestIn(dir) });
    } catch (err) {
      failures.push({ name, dir, error: `${MANIFEST_FILE}: ${(err as Error).message.split('\n')[0]}` });
    }
  }
  return { packages, failures };
}

/** A new, empty directory to extract package `name` into (not visible as installed yet). */
export async function newPackageDir(packagesDir: string, name: string, version: string): Promise<string> {
  const dir = join(packagesDir, STORE, `${name}-${version}-${rand()}`);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  return dir;
}

/** Makes `dir` (from newPackageDir) the installed `name`; returns the directory it replaced. */
export async function activate(packagesDir: string, name: string, dir: string): Promise<string | undefined> {
  const link = join(packagesDir, name);
  const previous = await installedDir(packagesDir, name);
  let doomed = previous;
  if (previous === link) {
    // A plain directory (copied in by hand): move it aside first; a rename cannot replace it.
    doomed = join(packagesDir, STORE, `${name}-replaced-${rand()}`);
    await rename(link, doomed);
  }
  const tmp = join(packagesDir, `.link-${name}-${rand()}`);
  await symlink(join(STORE, basename(dir)), tmp);
  try {
    await rename(tmp, link);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  if (doomed !== undefined && doomed !== dir) await rm(doomed, { recursive: true, force: true });
  return previous;
}

/** Removes the installed `name`; returns its directory, or undefined when it is not installed. */
export async function removeInstalled(packagesDir: string, name: string): Promise<string | undefined> {
  const dir = await installedDir(packagesDir, name);
  if (dir === undefined) return undefined;
  const link = join(packagesDir, name);
  let doomed = dir;
  if (dir === link) {
    // A plain directory: out of sight in one rename, then deleted.
    doomed = join(packagesDir, STORE, `${name}-removed-${rand()}`);
    await mkdir(dirname(doomed), { recursive: true });
    await rename(link, doomed);
  } else {
    await unlink(link);
  }
  await rm(doomed, { recursive: true, force: true });
  return dir;
}

/** Removes directories under .store older than an hour that no installed package uses. */
export async function sweepOrphans(packagesDir: string, now = Date.now()): Promise<void> {
  const storeDir = join(packagesDir, STORE);
  let entries: string[];
  try {
    entries = await readdir(storeDir);
  } catch (err) {
    if (isMissing(err)) return;
    throw err;
  }
  const used = new Set<string>();
  for (const n of await readdir(packagesDir)) {
    if (n.startsWith('.')) continue;
    const d = await installedDir(packagesDir, n);
    if (d !== undefined) used.add(d);
  }
  for (const e of entries) {
    const dir = join(storeDir, e);
    if (used.has(dir)) continue;
    const st = await stat(dir).catch(() => undefined);
    if (st && now - st.mtimeMs > ORPHAN_AGE_MS) await rm(dir, { recursive: true, force: true });
  }
}
