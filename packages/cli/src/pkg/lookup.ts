/**
 * Where `pkg add NAME` and `pkg build NAME` find a package, in order (all offline):
 *
 * 1. (`pkg add` only) archives `NAME_vVERSION_PLATFORM.tgz` for this platform in the directories
 *    of `KLOSET_PKG_PATH` (`:`-separated); the highest version wins, the first directory on a tie;
 * 2. the package source named NAME in the workspace the CLI runs from (a checkout of the kloset
 *    repository): `pkg add` builds it, then installs the archive.
 *
 * No registry is asked: kloset packages are not published to npm yet (docs/cli.md).
 */
import { readdir } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import type { Env } from '../config/paths.ts';
import { compareVersions, currentPlatform, parseArchiveFileName } from './compat.ts';
import { cliWorkspaceRoot, type PackageSource, workspacePackageSources } from './workspace.ts';

export type FoundPackage =
  | { readonly kind: 'archive'; readonly path: string; readonly version: string }
  | { readonly kind: 'source'; readonly source: PackageSource };

/** The directories of KLOSET_PKG_PATH (absolute ones only). */
export function archiveDirs(env: Env): string[] {
  return (env.KLOSET_PKG_PATH ?? '').split(':').filter((d) => d !== '' && isAbsolute(d));
}

/** The newest archive of `name` for this platform in `dirs`, or undefined. */
export async function findArchive(
  name: string,
  dirs: readonly string[],
): Promise<{ path: string; version: string } | undefined> {
  let best: { path: string; version: string } | undefined;
  for (const dir of dirs) {
    const files = await readdir(dir).catch(() => [] as string[]);
    for (const f of files.sort()) {
      const p = parseArchiveFileName(f);
      if (!p || p.name !== name || p.platform !== currentPlatform()) continue;
      if (!best || compareVersions(p.version, best.version) > 0)
        best = { path: join(dir, f), version: p.version };
    }
  }
  return best;
}

/** The package source `name` of the CLI's workspace, and every name there (for messages). */
export async function findWorkspaceSource(
  name: string,
): Promise<{ source: PackageSource | undefined; root: string | undefined; known: string[] }> {
  const root = await cliWorkspaceRoot();
  const sources = root ? await workspacePackageSources(root) : [];
  return { source: sources.find((s) => s.name === name), root, known: sources.map((s) => s.name) };
}

function lookedIn(env: Env, root: string | undefined, known: readonly string[]): string {
  const dirs = archiveDirs(env);
  const archives = dirs.length
    ? `archives in ${dirs.join(', ')}`
    : 'no archive directory (KLOSET_PKG_PATH is unset)';
  const ws = root
    ? `the workspace ${root} (${known.length ? `packages: ${known.join(', ')}` : 'no packages'})`
    : 'no workspace (the CLI is not run from a kloset checkout)';
  return `looked in ${archives} and ${ws}`;
}

/** Where to install `name` from, or one line saying where it looked. */
export async function findPackage(name: string, env: Env): Promise<FoundPackage> {
  const archive = await findArchive(name, archiveDirs(env));
  if (archive) return { kind: 'archive', ...archive };
  const { source, root, known } = await findWorkspaceSource(name);
  if (source) return { kind: 'source', source };
  throw new Error(`no package named ${JSON.stringify(name)}: ${lookedIn(env, root, known)}`);
}

/** The workspace source to build for `name`, or one line saying what exists. */
export async function findSourceToBuild(name: string): Promise<PackageSource> {
  const { source, root, known } = await findWorkspaceSource(name);
  if (source) return source;
  const ws = root
    ? `the workspace ${root} has ${known.length ? `${known.join(', ')}` : 'no package sources'}`
    : 'the CLI is not run from a kloset checkout';
  throw new Error(
    `no package source named ${JSON.stringify(name)}: ${ws} (or give a directory: kloset pkg build ./DIR)`,
  );
}
