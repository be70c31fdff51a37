/**
 * The manifests docs/cli.md documents: the built-in connectors and every connector package source
 * of this checkout (`s3`), imported from their sources, so that the options in the reference are
 * those the packages declare. For write-reference.ts and the test that keeps docs/cli.md in step.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ConnectorManifest } from '@kloset/connector-contract';
import { BUILTIN_MANIFESTS } from '../connectors/builtins.ts';
import { isConnectorManifest } from '../pkg/load.ts';
import { cliWorkspaceRoot, workspacePackageSources } from '../pkg/workspace.ts';

export async function referenceManifests(): Promise<ConnectorManifest[]> {
  const root = await cliWorkspaceRoot();
  if (root === undefined) throw new Error('docs/cli.md is rendered from a kloset checkout: none found');
  const out = [...BUILTIN_MANIFESTS];
  for (const source of await workspacePackageSources(root)) {
    const entry = join(source.dir, source.entry);
    const mod = (await import(pathToFileURL(entry).href)) as { manifest?: unknown };
    if (!isConnectorManifest(mod.manifest)) throw new Error(`${entry} exports no connector manifest`);
    out.push(mod.manifest);
  }
  return out;
}
