/**
 * `pkg add ./ARCHIVE`: reads a package archive as a stream (gzip, then tar), checks it while
 * extracting it into a fresh directory, loads its code once, then makes it the installed package
 * in one atomic rename (see layout.ts). Nothing is installed unless every check passes:
 *
 * - manifest.json comes first, parses, and fits this machine (platform, Node.js, contract);
 * - every other entry is a regular file listed in manifest.json, with a plain relative name, the
 *   listed size and SHA-256; every listed file is present; nothing else is;
 * - the entry point exports the connector manifest that manifest.json describes.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { checkCompatible } from './compat.ts';
import { activate, installedDir, newPackageDir, readManifestIn, sweepOrphans } from './layout.ts';
import { loadPackageCode } from './load.ts';
import {
  isPackageFilePath,
  MANIFEST_FILE,
  type PackageFile,
  type PackageManifest,
  parsePackageManifest,
} from './package-manifest.ts';
import { readTar, type TarEntry } from './tar.ts';

const MAX_MANIFEST_BYTES = 1 << 20;

export interface InstallResult {
  readonly manifest: PackageManifest;
  readonly dir: string;
  /** The version that was installed before and is replaced, if any. */
  readonly replaced?: string;
}

/** Regular files, as tar names their type flags ('0', and NUL in old archives). */
const REGULAR_FILE: readonly string[] = ['File', 'OldFile'];

async function bodyBytes(entry: TarEntry): Promise<Buffer> {
  if (entry.size > MAX_MANIFEST_BYTES) throw new Error(`${MANIFEST_FILE} is larger than 1 MiB`);
  const parts: Buffer[] = [];
  for await (const p of entry.body) parts.push(p);
  return Buffer.concat(parts);
}

async function readFirstManifest(entry: TarEntry | undefined): Promise<PackageManifest> {
  if (!entry || entry.name !== MANIFEST_FILE) {
    throw new Error(`not a kloset package: ${MANIFEST_FILE} is not its first entry`);
  }
  if (!REGULAR_FILE.includes(entry.type)) throw new Error(`entry "${MANIFEST_FILE}" is not a regular file`);
  const bytes = await bodyBytes(entry);
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new Error(`${MANIFEST_FILE} is not valid JSON (${(err as Error).message})`);
  }
  const manifest = parsePackageManifest(raw);
  checkCompatible(manifest);
  return manifest;
}

async function extractFile(entry: TarEntry, listed: PackageFile, dir: string): Promise<void> {
  if (entry.size !== listed.size)
    throw new Error(`${listed.path}: ${entry.size} bytes, manifest.json says ${listed.size}`);
  const target = join(dir, ...listed.path.split('/'));
  await mkdir(dirname(target), { recursive: true });
  const hash = createHash('sha256');
  let size = 0;
  async function* counted(): AsyncIterable<Buffer> {
    for await (const part of entry.body) {
      hash.update(part);
      size += part.length;
      yield part;
    }
  }
  await pipeline(counted(), createWriteStream(target, { flags: 'wx', mode: 0o644 }));
  if (size !== listed.size)
    throw new Error(`${listed.path}: ${size} bytes, manifest.json says ${listed.size}`);
  if (hash.digest('hex') !== listed.sha256)
    throw new Error(`${listed.path}: SHA-256 differs from manifest.json`);
}

/** Extracts and checks `archive` into a new directory of `packagesDir`; returns it and its manifest. */
async function extract(
  archive: string,
  packagesDir: string,
  reserved: readonly string[],
): Promise<{ dir: string; manifest: PackageManifest }> {
  const gunzip = createGunzip();
  const input = createReadStream(archive);
  input.on('error', (err) => gunzip.destroy(err));
  const entries = readTar(input.pipe(gunzip))[Symbol.asyncIterator]();
  let dir: string | undefined;
  try {
    const first = await entries.next();
    const manifest = await readFirstManifest(first.done ? undefined : first.value);
    if (reserved.includes(manifest.name))
      throw new Error(`${manifest.name} is built in: no package replaces it`);
    dir = await newPackageDir(packagesDir, manifest.name, manifest.version);
    const listed = new Map(manifest.files.map((f) => [f.path, f]));
    const seen = new Set<string>();
    for (let next = await entries.next(); !next.done; next = await entries.next()) {
      const entry = next.value;
      const name = entry.name;
      if (!REGULAR_FILE.includes(entry.type))
        throw new Error(`entry ${JSON.stringify(name)} is not a regular file`);
      if (!isPackageFilePath(name)) throw new Error(`entry name ${JSON.stringify(name)} is not allowed`);
      const file = listed.get(name);
      if (!file) throw new Error(`${name} is not listed in ${MANIFEST_FILE}`);
      if (seen.has(name)) throw new Error(`${name} appears twice`);
      seen.add(name);
      await extractFile(entry, file, dir);
    }
    const missing = manifest.files.find((f) => !seen.has(f.path));
    if (missing) throw new Error(`${missing.path} is listed in ${MANIFEST_FILE} but missing`);
    await writeFile(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o644 });
    return { dir, manifest };
  } catch (err) {
    await entries.return();
    input.destroy();
    gunzip.destroy();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    throw describeReadError(err);
  }
}

/** zlib and tar errors say what is wrong with the bytes; name them as such. */
function describeReadError(err: unknown): Error {
  const e = err as NodeJS.ErrnoException;
  if (typeof e.code === 'string' && e.code.startsWith('Z_'))
    return new Error(`corrupt archive: gzip: ${e.message}`);
  if (e.name === 'TarError') return new Error(`corrupt archive: tar: ${e.message}`);
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * Installs (or replaces) the package in `archive`; `reserved` are names it may not take (the
 * built-in connectors). Throws one line naming what is wrong.
 */
export async function installArchive(
  archive: string,
  packagesDir: string,
  reserved: readonly string[] = [],
): Promise<InstallResult> {
  const st = await stat(archive).catch((err: NodeJS.ErrnoException) => {
    throw new Error(err.code === 'ENOENT' ? 'no such file' : err.message);
  });
  if (!st.isFile()) throw new Error('not a file');
  await mkdir(packagesDir, { recursive: true, mode: 0o755 });
  await sweepOrphans(packagesDir);
  const { dir, manifest } = await extract(archive, packagesDir, reserved);
  try {
    await loadPackageCode(dir, manifest);
    const previousDir = await installedDir(packagesDir, manifest.name);
    const replaced = previousDir ? await readManifestIn(previousDir).catch(() => undefined) : undefined;
    await activate(packagesDir, manifest.name, dir);
    return replaced ? { manifest, dir, replaced: replaced.version } : { manifest, dir };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
