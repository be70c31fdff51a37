/**
 * Loads the code of a package directory: imports its entry point (the connector contract resolving
 * to the CLI's copy) and checks that the ConnectorManifest it exports is the one manifest.json
 * describes (name, version, roles and protocols).
 */
import { join } from 'node:path';
import type { ConnectorManifest } from '@kloset/connector-contract';
import { importWithHostModules } from './host-modules.ts';
import type { PackageManifest } from './package-manifest.ts';

/** True when `v` has the shape of a ConnectorManifest (with connector factories). */
export function isConnectorManifest(v: unknown): v is ConnectorManifest {
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
        Array.isArray((c as Record<string, unknown>).options) &&
        typeof (c as Record<string, unknown>).create === 'function',
    )
  );
}

const shape = (cs: readonly { role: string; protocols: readonly string[] }[]) =>
  JSON.stringify(cs.map((c) => [c.role, [...c.protocols].sort()]));

/** Imports `entry` of `dir` and returns the ConnectorManifest it exports as `manifest`. */
export async function importConnectorManifest(dir: string, entry: string): Promise<ConnectorManifest> {
  let mod: Record<string, unknown>;
  try {
    mod = await importWithHostModules(dir, join(dir, entry));
  } catch (err) {
    throw new Error(`cannot load ${entry}: ${(err as Error).message.split('\n')[0]}`);
  }
  const exported = mod.manifest ?? (mod.default as Record<string, unknown> | undefined)?.manifest;
  if (!isConnectorManifest(exported)) throw new Error(`${entry} does not export a connector manifest`);
  return exported;
}

/** The ConnectorManifest exported by the entry point of `dir`; throws one line when it does not fit. */
export async function loadPackageCode(dir: string, m: PackageManifest): Promise<ConnectorManifest> {
  const exported = await importConnectorManifest(dir, m.entry);
  if (exported.name !== m.name || exported.version !== m.version) {
    throw new Error(
      `${m.entry} exports ${exported.name} v${exported.version}, manifest.json says ${m.name} v${m.version}`,
    );
  }
  if (shape(exported.connectors) !== shape(m.connectors)) {
    throw new Error(`the connectors of ${m.entry} differ from those of manifest.json`);
  }
  return exported;
}
