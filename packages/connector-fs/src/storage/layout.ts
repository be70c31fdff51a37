/**
 * Where FsStorage keeps things under its root directory:
 *
 *     config                       the store config (written once, by create)
 *     packfiles/<2 hex>/<id>       packfiles, fanned out by the first byte of their id
 *     states/<id>
 *     snapshots/<id>
 *     locks/<id>
 *
 * Temporary files (`.<name>.<random>.tmp`) live next to their final name and are never listed.
 */
import { join } from 'node:path';
import type { ResourceKind } from '@kloset/connector-contract';

/** The directory of each kind, relative to the root. */
export const KIND_DIRS: Readonly<Record<ResourceKind, string>> = {
  packfile: 'packfiles',
  state: 'states',
  snapshot: 'snapshots',
  lock: 'locks',
};

/** The config file name. */
export const CONFIG_FILE = 'config';

/** The absolute path of the directory holding resource `id` of `kind` (ids are validated before). */
export function resourceDir(root: string, kind: ResourceKind, id: string): string {
  const base = join(root, KIND_DIRS[kind]);
  return kind === 'packfile' ? join(base, id.slice(0, 2)) : base;
}

/** The absolute path of resource `id` of `kind`. */
export function resourcePath(root: string, kind: ResourceKind, id: string): string {
  return join(resourceDir(root, kind, id), id);
}
