/**
 * Whether a package fits this machine and this CLI: platform (`linux_x64`), Node.js version, and
 * the connector contract version (the CLI provides `@kloset/connector-contract` to packages).
 * Also the archive file name, `NAME_vVERSION_PLATFORM.tgz`.
 */
import { readFileSync } from 'node:fs';
import { PACKAGE_NAME_PATTERN, type PackageManifest, VERSION_PATTERN } from './package-manifest.ts';

/** This machine as package archives name it: `linux_x64`, `darwin_arm64`. */
export function currentPlatform(): string {
  return `${process.platform}_${process.arch}`;
}

export const ARCHIVE_SUFFIX = '.tgz';

export function archiveFileName(name: string, version: string, platform: string): string {
  return `${name}_v${version}_${platform}${ARCHIVE_SUFFIX}`;
}

/** `s3_v0.1.0_linux_x64.tgz` -> its parts, or undefined for any other file name. */
export function parseArchiveFileName(
  file: string,
): { name: string; version: string; platform: string } | undefined {
  const m = /^([a-z0-9][a-z0-9-]*)_v([^_]+)_([a-z0-9]+_[a-z0-9]+)\.tgz$/.exec(file);
  if (!m || !PACKAGE_NAME_PATTERN.test(m[1]!) || !VERSION_PATTERN.test(m[2]!)) return undefined;
  return { name: m[1]!, version: m[2]!, platform: m[3]! };
}

function parts(version: string): number[] {
  return version
    .split('-')[0]!
    .split('.')
    .map((n) => Number.parseInt(n, 10));
}

/** Orders versions by MAJOR.MINOR.PATCH; a prerelease sorts before its release. */
export function compareVersions(a: string, b: string): number {
  const pa = parts(a);
  const pb = parts(b);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return (pa[i] ?? 0) - (pb[i] ?? 0);
  const ra = a.includes('-');
  const rb = b.includes('-');
  if (ra !== rb) return ra ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Semver compatibility: same major, and for 0.x the same minor, and not newer than the host. */
export function contractCompatible(built: string, host: string): boolean {
  const [bMaj, bMin] = parts(built);
  const [hMaj, hMin] = parts(host);
  if (bMaj !== hMaj) return false;
  if (bMaj === 0 && bMin !== hMin) return false;
  return compareVersions(built, host) <= 0;
}

/** `>=22.15` against a Node.js version such as `24.1.0`. */
export function nodeSatisfies(range: string, version: string): boolean {
  const m = /^>=(\d+)\.(\d+)$/.exec(range);
  if (!m) return false;
  const [maj, min] = parts(version);
  const need = [Number(m[1]), Number(m[2])] as const;
  return maj! > need[0] || (maj === need[0] && min! >= need[1]);
}

let hostContract: string | undefined;

/** The connector contract version this CLI provides (its dependency on @kloset/connector-contract). */
export function hostContractVersion(): string {
  if (hostContract === undefined) {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      dependencies?: Record<string, string>;
    };
    hostContract = (pkg.dependencies?.['@kloset/connector-contract'] ?? '0.0.0').replace(/^[\^~=]/, '');
  }
  return hostContract;
}

/** Fails with one line when the package cannot run here. */
export function checkCompatible(m: PackageManifest): void {
  const here = currentPlatform();
  if (m.platform !== here) {
    throw new Error(`package ${m.name} v${m.version} is built for ${m.platform}, this machine is ${here}`);
  }
  if (!nodeSatisfies(m.node, process.versions.node)) {
    throw new Error(`package ${m.name} v${m.version} needs Node.js ${m.node}, this is ${process.version}`);
  }
  const host = hostContractVersion();
  if (!contractCompatible(m.contract, host)) {
    throw new Error(
      `package ${m.name} v${m.version} is built for connector contract ${m.contract}, this kloset provides ${host}`,
    );
  }
}
