/**
 * `pkg build`: turns a package source (see workspace.ts) into an archive
 * `NAME_vVERSION_PLATFORM.tgz`:
 *
 *   manifest.json   name, version, platform, contract, roles/protocols/options, files (size, SHA-256)
 *   index.js        the package and every dependency (the AWS SDK for s3) in one ESM file
 *
 * The bundle is made by rolldown, found in the source's own node_modules (a devDependency of the
 * package: the build toolchain comes with the source, like Go for a Plakar package). Only Node.js
 * built-ins and the modules the CLI provides (host-modules.ts) stay outside the bundle; the build
 * fails if anything else would. The bundle is then loaded once: manifest.json is written from
 * what its code exports. Entries carry mtime 0, so the same source gives the same bytes.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { archiveFileName, currentPlatform } from './compat.ts';
import { HOST_PROVIDED } from './host-modules.ts';
import { importConnectorManifest } from './load.ts';
import { MANIFEST_FILE, PACKAGE_FORMAT, type PackageManifest } from './package-manifest.ts';
import { writeTarGz } from './tar.ts';
import type { PackageSource } from './workspace.ts';

const ENTRY = 'index.js';
const CONDITIONS = ['kloset-source', 'node', 'import', 'default'];

/** The part of rolldown's API used here. */
interface Rolldown {
  rolldown(input: {
    input: string;
    cwd: string;
    platform: 'node';
    resolve: { conditionNames: string[] };
    external: (id: string) => boolean;
    logLevel: 'silent' | 'warn';
  }): Promise<{
    write(output: {
      dir: string;
      format: 'esm';
      codeSplitting: false;
      entryFileNames: string;
      banner: string;
    }): Promise<{ output: { type: string; fileName: string; imports?: string[] }[] }>;
    close(): Promise<void>;
  }>;
}

export interface BuildResult {
  readonly archive: string;
  readonly manifest: PackageManifest;
  readonly size: number;
  readonly sha256: string;
}

const isHostProvided = (id: string) => HOST_PROVIDED.some((h) => id === h || id.startsWith(`${h}/`));
const isBuiltin = (id: string) => id.startsWith('node:') || builtinModules.includes(id.split('/')[0]!);

/** rolldown, from the node_modules above the package source. */
async function loadRolldown(from: string): Promise<Rolldown> {
  for (let dir = from; ; dir = dirname(dir)) {
    const pkgFile = join(dir, 'node_modules', 'rolldown', 'package.json');
    if (existsSync(pkgFile)) {
      const pkg = JSON.parse(await readFile(pkgFile, 'utf8')) as { exports?: Record<string, unknown> };
      const main = pkg.exports?.['.'];
      const file = typeof main === 'string' ? main : './dist/index.mjs';
      return (await import(pathToFileURL(join(dirname(pkgFile), file)).href)) as Rolldown;
    }
    if (dirname(dir) === dir) {
      throw new Error(`rolldown is not installed above ${from} (run npm install in the workspace)`);
    }
  }
}

async function bundle(src: PackageSource, outDir: string): Promise<void> {
  const { rolldown } = await loadRolldown(src.dir);
  const build = await rolldown({
    input: resolve(src.dir, src.entry),
    cwd: src.dir,
    platform: 'node',
    resolve: { conditionNames: CONDITIONS },
    external: isHostProvided,
    logLevel: 'silent',
  });
  try {
    const { output } = await build.write({
      dir: outDir,
      format: 'esm',
      codeSplitting: false,
      entryFileNames: ENTRY,
      banner: `// kloset package ${src.name} v${src.version}, built from ${src.npmName}`,
    });
    const files = output.map((o) => o.fileName);
    if (files.length !== 1 || files[0] !== ENTRY)
      throw new Error(`the bundle is not one file: ${files.join(', ')}`);
    const outside = (output[0]?.imports ?? []).filter((id) => !isHostProvided(id) && !isBuiltin(id));
    if (outside.length)
      throw new Error(`the bundle would import ${outside.join(', ')} from outside the package`);
  } finally {
    await build.close();
  }
}

/** Size and SHA-256 of a file, streamed. */
export async function fileFacts(path: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const part of createReadStream(path) as AsyncIterable<Buffer>) {
    hash.update(part);
    size += part.length;
  }
  return { size, sha256: hash.digest('hex') };
}

async function describe(src: PackageSource, workDir: string): Promise<PackageManifest> {
  const code = await importConnectorManifest(workDir, ENTRY);
  if (code.name !== src.name || code.version !== src.version) {
    throw new Error(
      `${src.entry} exports ${code.name} v${code.version}, package.json says ${src.name} v${src.version}`,
    );
  }
  return {
    format: PACKAGE_FORMAT,
    name: src.name,
    version: src.version,
    description: code.description || src.description,
    platform: currentPlatform(),
    contract: src.contract,
    node: src.node,
    entry: ENTRY,
    connectors: code.connectors.map((c) => ({
      role: c.role,
      protocols: [...c.protocols],
      options: [...c.options],
    })),
    files: [{ path: ENTRY, ...(await fileFacts(join(workDir, ENTRY))) }],
    source: { package: src.npmName, version: src.version },
  };
}

/** Builds the archive of `src` into `outDir` (written under a temporary name, then renamed). */
export async function buildPackage(src: PackageSource, outDir: string): Promise<BuildResult> {
  const workDir = await mkdtemp(join(tmpdir(), `kloset-pkg-${src.name}-`));
  try {
    await bundle(src, workDir);
    const manifest = await describe(src, workDir);
    await writeFile(join(workDir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    // The mode goes into the archive: the same whatever the umask.
    for (const name of [MANIFEST_FILE, ENTRY]) await chmod(join(workDir, name), 0o644);
    const archive = join(outDir, archiveFileName(src.name, src.version, manifest.platform));
    const tmp = `${archive}.${process.pid}.tmp`;
    try {
      await writeTarGz(tmp, workDir, [MANIFEST_FILE, ENTRY]);
      await rename(tmp, archive);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    return { archive, manifest, ...(await fileFacts(archive)) };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}
