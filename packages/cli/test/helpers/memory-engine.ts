/**
 * An Engine in memory, for testing the CLI's parsing, output and exit codes without the core.
 * Stores are keyed by storage location; `mem://` connectors provide sources and destinations.
 */
import { randomBytes } from 'node:crypto';
import {
  ConnectorError,
  type ConnectorManifest,
  type Destination,
  type EntryAttributes,
  type Source,
  type SourceRecord,
  type Storage,
} from '@kloset/connector-contract';
import {
  AmbiguousLatestError as CoreAmbiguousLatestError,
  filteredSource,
  selectSnapshots,
} from '@kloset/core';
import { AmbiguousLatestError } from '../../src/engine/ambiguous-latest.ts';
import type {
  BackupFilters,
  CheckProblem,
  Engine,
  EntryView,
  OpenStore,
  SnapshotView,
  StoreView,
} from '../../src/engine/engine.ts';
import { CliError, WrongPassphraseError } from '../../src/errors.ts';

interface MemStore {
  view: StoreView;
  passphrase: string | undefined;
  snapshots: SnapshotView[];
  entries: Map<string, EntryView[]>;
  /** Problems check reports. */
  problems: CheckProblem[];
  /** Paths restore finds corrupt. */
  corruptPaths: Set<string>;
}

export class MemoryEngine implements Engine {
  /** No early scan in tests: the source as it is. */
  scanAhead(source: Source): Source {
    return source;
  }
  /** The core's filter (the patterns' errors are not mapped to usage errors here). */
  filterSource(source: Source, filters: BackupFilters): Source {
    return filteredSource(source, {
      exclude: filters.exclude.map((f) => f.pattern),
      include: filters.include.map((f) => f.pattern),
    });
  }
  readonly stores = new Map<string, MemStore>();
  /** Stores opened, and opened but not closed yet. */
  readonly opens = { total: 0, open: 0 };

  async create(storage: Storage, request: { passphrase: string | undefined }): Promise<StoreView> {
    if (this.stores.has(storage.location))
      throw new CliError(`${storage.location}: a store already exists there`);
    const view: StoreView = {
      storeId: randomBytes(32).toString('hex'),
      encrypted: request.passphrase !== undefined,
      created: Date.UTC(2025, 0, 1),
      version: 1,
      compression: 'zstd',
      packfileSize: 16 << 20,
      chunking: { min: 512 << 10, avg: 1 << 20, max: 8 << 20 },
    };
    this.stores.set(storage.location, {
      view,
      passphrase: request.passphrase,
      snapshots: [],
      entries: new Map(),
      problems: [],
      corruptPaths: new Set(),
    });
    return view;
  }

  async open(storage: Storage, request: { passphrase(): Promise<string> }): Promise<OpenStore> {
    const s = this.stores.get(storage.location);
    if (!s) throw new CliError(`no store at ${storage.location}`);
    if (s.passphrase !== undefined && (await request.passphrase()) !== s.passphrase) {
      throw new WrongPassphraseError();
    }
    this.opens.total++;
    this.opens.open++;
    return openMemStore(s, () => this.opens.open--);
  }
}

function unsupported(): never {
  throw new CliError('not supported by the memory engine');
}

function openMemStore(s: MemStore, onClose: () => void): OpenStore {
  const find = (id: string) => {
    const snap = s.snapshots.find((x) => x.id === id);
    if (!snap) throw new CliError(`no snapshot ${id}`);
    return snap;
  };
  return {
    view: s.view,
    damage: [],
    notices: [],
    async snapshots() {
      return [...s.snapshots];
    },
    async snapshot(id) {
      return find(id);
    },
    async dryRunBackup(source, req) {
      const n = { entries: 0, files: 0, directories: 0, symlinks: 0, errors: 0, bytes: 0 };
      for await (const r of source.scan(req.signal)) {
        n.entries++;
        if (r.error !== undefined) n.errors++;
        if (r.type === 'file') {
          n.files++;
          n.bytes += r.size;
        } else if (r.type === 'directory') n.directories++;
        else n.symlinks++;
        await req.onEntry?.({ path: r.path, type: r.type, size: r.size, unchanged: false });
      }
      return { ...n, unchangedFiles: 0, unchangedBytes: 0 };
    },
    async backup(source, req) {
      const entries: EntryView[] = [];
      let bytes = 0;
      let errors = 0;
      for await (const r of source.scan(req.signal)) {
        if (r.error !== undefined) {
          errors++;
          req.onFailure({ path: r.path, error: r.error });
        }
        if (r.type === 'file') bytes += r.size;
        entries.push({
          path: r.path,
          type: r.type,
          size: r.size,
          mtime: r.mtime,
          mode: r.mode ?? 0o644,
          metadata: r.metadata,
        });
        req.onProgress({ entries: entries.length, bytes });
      }
      entries.sort((a, b) => (a.path < b.path ? -1 : 1));
      const snap: SnapshotView = {
        id: randomBytes(32).toString('hex'),
        // Strictly increasing: two backups in one millisecond would make "latest" a coin toss.
        time: Math.max(Date.now(), (s.snapshots.at(-1)?.time ?? 0) + 1),
        durationMs: 5,
        name: req.name ?? source.info.root,
        tags: [...req.tags],
        hostname: 'host',
        username: 'user',
        source: { ...source.info },
        summary: {
          files: entries.filter((e) => e.type === 'file').length,
          directories: entries.filter((e) => e.type === 'directory').length,
          symlinks: entries.filter((e) => e.type === 'symlink').length,
          errors,
          bytes,
          storedBytes: bytes,
        },
      };
      s.snapshots.push(snap);
      s.entries.set(snap.id, entries);
      return snap;
    },
    async *entries(id, path, recursive) {
      const all = s.entries.get(find(id).id) ?? [];
      const target = all.find((e) => e.path === path);
      if (!target) throw new CliError(`${id.slice(0, 8)}:${path}: no such entry`);
      yield target;
      if (target.type !== 'directory') return;
      const prefix = path === '/' ? '/' : `${path}/`;
      for (const e of all) {
        if (e === target || !e.path.startsWith(prefix)) continue;
        if (recursive || !e.path.slice(prefix.length).includes('/')) yield e;
      }
    },
    async restore(dest, req) {
      const all = s.entries.get(find(req.snapshotId).id) ?? [];
      let entries = 0;
      let bytes = 0;
      let failures = 0;
      let corrupt = 0;
      for (const e of all) {
        if (req.path !== '/' && e.path !== req.path && !e.path.startsWith(`${req.path}/`)) continue;
        if (s.corruptPaths.has(e.path)) {
          corrupt++;
          failures++;
          req.onFailure({ path: e.path, error: 'content fails verification' });
          continue;
        }
        const attrs: EntryAttributes = { ...e, metadata: {} };
        const r = await dest.write(attrs, e.type === 'file' ? (async function* () {})() : undefined);
        if (!r.ok) {
          failures++;
          req.onFailure({ path: e.path, error: r.error ?? 'failed' });
          continue;
        }
        entries++;
        bytes += e.size;
      }
      await dest.finish();
      return {
        entries,
        bytes,
        failures,
        corrupt,
        skipped: 0,
        skippedIdentical: 0,
        skippedExisting: 0,
        replaced: req.overwrite === 'always' ? undefined : 0,
      };
    },
    async check(req) {
      for (const p of s.problems) req.onProblem(p);
      const ids = req.snapshotIds.length ? req.snapshotIds : s.snapshots.map((x) => x.id);
      return {
        snapshots: ids.length,
        entries: 3,
        blobs: 7,
        problems: s.problems.length,
        unindexedPackfiles: 0,
        packIndexesRead: 0,
      };
    },
    async remove(ids) {
      s.snapshots = s.snapshots.filter((x) => !ids.includes(x.id));
    },
    async select(sel) {
      try {
        return selectSnapshots(s.snapshots, sel.refs, sel.filter);
      } catch (err) {
        if (err instanceof CoreAmbiguousLatestError) {
          const sources = err.sources.map((g) => ({ newest: g.newest as SnapshotView, count: g.count }));
          throw new AmbiguousLatestError(err.message, sources);
        }
        throw new CliError((err as Error).message);
      }
    },
    // The commands below are tested through the binary on the core (e2e-snapshots.test.ts).
    cat: unsupported,
    repair: unsupported,
    diff: unsupported,
    prune: unsupported,
    maintenance: unsupported,
    syncTo: unsupported,
    async close() {
      onClose();
    },
  };
}

/** Records served by `mem://NAME` sources. */
export const memSources = new Map<string, SourceRecord[]>();
/** What `mem://NAME` destinations received. */
export const memDestinations = new Map<string, string[]>();

export function record(
  path: string,
  type: SourceRecord['type'],
  extra: Partial<SourceRecord> = {},
): SourceRecord {
  return {
    path,
    type,
    size: 0,
    mtime: { sec: 1_700_000_000, nsec: 0 },
    metadata: {},
    async open() {
      return (async function* () {})();
    },
    ...extra,
  };
}

function stubStorage(location: string): Storage {
  const no = async (): Promise<never> => {
    throw new Error('stub storage');
  };
  return {
    location,
    mode: 'read-write',
    create: no,
    open: no,
    put: no,
    get: no,
    async *list() {},
    delete: no,
    async close() {},
  };
}

export const memManifest: ConnectorManifest = {
  name: 'mem',
  version: '0.0.0',
  description: 'test connectors in memory',
  connectors: [
    {
      role: 'storage',
      protocols: ['mem', 'fs'],
      options: [{ name: 'region', type: 'string', required: false, description: 'a test option' }],
      async create({ location }) {
        return stubStorage(location);
      },
    },
    {
      role: 'source',
      protocols: ['mem'],
      options: [
        { name: 'access_key', type: 'string', required: false, description: 'key id' },
        { name: 'secret_access_key', type: 'string', required: false, secret: true, description: 'secret' },
        { name: 'use_tls', type: 'boolean', required: false, description: 'TLS' },
      ],
      // mem://NAME[/...]: the name may not be empty (as the s3 connectors refuse s3://HOST alone).
      checkLocation(location) {
        if (!/^mem:\/\/[^/]+/.test(location)) {
          throw new ConnectorError(
            'invalid',
            `location ${JSON.stringify(location)}: the name is missing (expected mem://NAME)`,
          );
        }
      },
      async create({ location }): Promise<Source> {
        const records = memSources.get(location) ?? [];
        return {
          info: { protocol: 'mem', origin: 'test', root: location },
          async *scan() {
            yield* records;
          },
          async close() {},
        };
      },
    },
    {
      role: 'destination',
      protocols: ['mem', 'fs'],
      options: [],
      async create({ location }): Promise<Destination> {
        const got: string[] = [];
        memDestinations.set(location, got);
        return {
          location,
          concurrency: 1,
          async write(entry) {
            got.push(entry.path);
            return { path: entry.path, ok: !entry.path.includes('unwritable'), error: 'cannot write' };
          },
          async finish() {},
          async close() {},
        };
      },
    },
  ],
};
