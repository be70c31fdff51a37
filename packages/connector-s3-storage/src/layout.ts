/**
 * Where a store's objects live under BUCKET/PREFIX:
 *
 * - `PREFIX/config`
 * - `PREFIX/packfiles/<first 2 hex digits of id>/<id>` (sharded: many, listed by maintenance)
 * - `PREFIX/states/<id>`, `PREFIX/snapshots/<id>`, `PREFIX/locks/<id>`
 *
 * Several stores can share a bucket under different prefixes.
 */
import { RESOURCE_ID_PATTERN, type ResourceKind } from '@kloset/connector-contract';

const DIRS: Readonly<Record<ResourceKind, string>> = {
  packfile: 'packfiles/',
  state: 'states/',
  snapshot: 'snapshots/',
  lock: 'locks/',
};

/** Object keys of one store. */
export class StoreLayout {
  readonly prefix: string;

  /** `prefix` is '' or ends with '/'. */
  constructor(prefix: string) {
    this.prefix = prefix;
  }

  get configKey(): string {
    return `${this.prefix}config`;
  }

  /** The key prefix listing every resource of `kind`. */
  kindPrefix(kind: ResourceKind): string {
    return `${this.prefix}${DIRS[kind]}`;
  }

  /** The key of a resource (id already checked). */
  key(kind: ResourceKind, id: string): string {
    const dir = this.kindPrefix(kind);
    return kind === 'packfile' ? `${dir}${id.slice(0, 2)}/${id}` : `${dir}${id}`;
  }

  /** The id of a listed key, or undefined for keys that are not resources of `kind` (strays). */
  idOf(kind: ResourceKind, key: string): string | undefined {
    const dir = this.kindPrefix(kind);
    if (!key.startsWith(dir)) return undefined;
    const rest = key.slice(dir.length);
    const id = kind === 'packfile' ? rest.slice(3) : rest;
    if (!RESOURCE_ID_PATTERN.test(id)) return undefined;
    if (kind === 'packfile' && rest.slice(0, 3) !== `${id.slice(0, 2)}/`) return undefined;
    return id;
  }
}
