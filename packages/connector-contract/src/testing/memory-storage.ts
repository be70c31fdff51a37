/** A Storage that keeps everything in memory: for unit tests of the core and of wrappers. */
import { ConnectorError } from '../errors/connector-error.ts';
import {
  type ByteRange,
  checkLeftoverAge,
  type LeftoverRemoval,
  type PutData,
  putDataBytes,
  type ResourceInfo,
  type ResourceKind,
  type Storage,
  type StorageMode,
} from '../storage/storage.ts';
import { checkRange, checkResourceId } from '../wrappers/storage-checks.ts';

/** The data behind one or more MemoryStorage instances (a read-only view shares it). */
export interface MemoryStore {
  config: Uint8Array | undefined;
  readonly resources: Record<ResourceKind, Map<string, Uint8Array>>;
  /** When each resource was put (Unix ms), by `kind/id`; tests may change it to age a resource. */
  readonly modified?: Map<string, number>;
  /**
   * What interrupted puts left (MemoryStorage's own puts never leave anything): tests add entries,
   * by any name, to stand for a temporary file or an incomplete upload of the given size, last
   * written at `modified` (Unix ms). `removeLeftovers` removes them by age.
   */
  readonly leftovers?: Map<string, MemoryLeftover>;
}

/** A leftover of an interrupted put, as a test puts it in `MemoryStore.leftovers`. */
export interface MemoryLeftover {
  readonly size: number;
  readonly modified: number;
}

/** Options of a MemoryStorage. */
export interface MemoryStorageOptions {
  /** Shown in errors; defaults to `memory://<n>`. */
  readonly location?: string;
  /** Defaults to `read-write`. */
  readonly mode?: StorageMode;
  /** Share the data of another instance (see `MemoryStorage.readOnlyView`). */
  readonly store?: MemoryStore;
}

let counter = 0;

function emptyStore(): MemoryStore {
  return {
    config: undefined,
    resources: { packfile: new Map(), state: new Map(), snapshot: new Map(), lock: new Map() },
    modified: new Map(),
    leftovers: new Map(),
  };
}

/**
 * An in-memory Storage that follows the whole Storage contract (it passes `storageConformance`):
 * bytes are copied in and out, ids and ranges are validated, read-only instances refuse writes
 * with `permission`. Every call yields to the event loop once, so concurrency bugs in callers show.
 */
export class MemoryStorage implements Storage {
  readonly location: string;
  readonly mode: StorageMode;
  /** The data itself; tests may inspect it (e.g. `store.resources.packfile.size`). */
  readonly store: MemoryStore;
  #closed = false;

  constructor(options: MemoryStorageOptions = {}) {
    this.location = options.location ?? `memory://${++counter}`;
    this.mode = options.mode ?? 'read-write';
    this.store = options.store ?? emptyStore();
  }

  /** A read-only Storage over the same data. */
  readOnlyView(): MemoryStorage {
    return new MemoryStorage({ location: this.location, mode: 'read-only', store: this.store });
  }

  async create(config: Uint8Array): Promise<void> {
    await this.#enter('create', undefined, true);
    if (this.store.config !== undefined) {
      throw new ConnectorError('already_exists', `a store already exists at ${this.location}`, {
        op: 'create',
        container: this.location,
      });
    }
    this.store.config = config.slice();
  }

  async open(): Promise<Uint8Array> {
    await this.#enter('open', undefined, false);
    if (this.store.config === undefined) {
      throw new ConnectorError('not_found', `no store at ${this.location}`, {
        op: 'open',
        container: this.location,
      });
    }
    return this.store.config.slice();
  }

  async replaceConfig(config: Uint8Array): Promise<void> {
    await this.#enter('replaceConfig', undefined, true);
    if (this.store.config === undefined) {
      throw new ConnectorError('not_found', `no store at ${this.location}: no config to replace`, {
        op: 'replaceConfig',
        container: this.location,
      });
    }
    this.store.config = config.slice();
  }

  async put(kind: ResourceKind, id: string, data: PutData): Promise<void> {
    checkResourceId(kind, id, 'put', this.location);
    await this.#enter('put', `${kind}/${id}`, true);
    const bytes = await putDataBytes(data);
    this.store.resources[kind].set(id, bytes === data ? bytes.slice() : bytes);
    this.store.modified?.set(`${kind}/${id}`, Date.now());
  }

  async get(kind: ResourceKind, id: string, range?: ByteRange): Promise<Uint8Array> {
    checkResourceId(kind, id, 'get', this.location);
    await this.#enter('get', `${kind}/${id}`, false);
    const bytes = this.store.resources[kind].get(id);
    if (!bytes) {
      throw new ConnectorError('not_found', `${kind} ${id} not found in ${this.location}`, {
        op: 'get',
        container: this.location,
        key: `${kind}/${id}`,
      });
    }
    if (!range) return bytes.slice();
    checkRange(range, bytes.length, { op: 'get', container: this.location, key: `${kind}/${id}` });
    const part = bytes.subarray(range.offset, range.offset + range.length);
    if (range.into === undefined || range.into.length < range.length) return part.slice();
    range.into.set(part);
    return range.into.subarray(0, range.length);
  }

  async *list(kind: ResourceKind): AsyncIterable<ResourceInfo> {
    await this.#enter('list', kind, false);
    for (const [id, bytes] of this.store.resources[kind]) {
      const modified = this.store.modified?.get(`${kind}/${id}`);
      yield modified === undefined ? { id, size: bytes.length } : { id, size: bytes.length, modified };
    }
  }

  async delete(kind: ResourceKind, id: string): Promise<void> {
    checkResourceId(kind, id, 'delete', this.location);
    await this.#enter('delete', `${kind}/${id}`, true);
    this.store.resources[kind].delete(id);
    this.store.modified?.delete(`${kind}/${id}`);
  }

  /** Removes the `store.leftovers` at least `olderThanMs` old (by Date.now). */
  async removeLeftovers(olderThanMs: number): Promise<LeftoverRemoval> {
    checkLeftoverAge(olderThanMs, this.location);
    await this.#enter('removeLeftovers', undefined, true);
    const cutoff = Date.now() - olderThanMs;
    let count = 0;
    let bytes = 0;
    for (const [name, leftover] of this.store.leftovers ?? []) {
      if (leftover.modified > cutoff) continue;
      this.store.leftovers?.delete(name);
      count++;
      bytes += leftover.size;
    }
    return { count, bytes };
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  async #enter(op: string, key: string | undefined, writes: boolean): Promise<void> {
    await Promise.resolve();
    const context = { op, container: this.location, ...(key === undefined ? {} : { key }) };
    if (this.#closed)
      throw new ConnectorError('invalid', `${op} on closed storage ${this.location}`, context);
    if (writes && this.mode === 'read-only') {
      throw new ConnectorError('permission', `${op}: storage ${this.location} is read-only`, context);
    }
  }
}

/**
 * A MemoryStorage as `storageConformance` wants it (a `StorageUnderTest`): nothing to clean up,
 * and leftovers made by adding to `store.leftovers` (1,000 bytes plus a byte per hex digit).
 */
export function memoryUnderTest(storage: MemoryStorage): {
  storage: MemoryStorage;
  cleanup(): Promise<void>;
  makeLeftover(id: string): Promise<{ bytes: number }>;
} {
  let n = 0;
  return {
    storage,
    cleanup: async () => {},
    makeLeftover: async (id) => {
      const bytes = 1000 + ++n;
      storage.store.leftovers?.set(`${id}.${n}.tmp`, { size: bytes, modified: Date.now() });
      return { bytes };
    },
  };
}
