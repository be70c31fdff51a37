/**
 * The local cache of a store's index (FORMAT.md §6): the union of the states applied so far, in one
 * node:sqlite database, plus this session's pending (unflushed) blobs. Indexed blobs are looked up
 * with prepared statements on disk, nothing of them is held in JavaScript memory; pending blobs are
 * held in memory (a few microseconds less per blob than rows in a table), and they are bounded by
 * the write session, not by the store: the blobs of the open packfiles and of the uploads in
 * flight (whose writers hold them anyway), and at most about STATE_MAX_BLOBS blobs of uploaded
 * packfiles waiting for their state.
 *
 * `has` first asks a Bloom filter of the indexed ids (blob-bloom.ts, at most `maxBloomBytes`):
 * "certainly absent" costs no query. The filter is kept in the `bloom_filter` table, tagged with the
 * index's generation (`meta.blobs_gen`, bumped by every transaction that inserts blobs), so opening a
 * large index for a small backup reads it instead of scanning the index; when it is missing or
 * stale (a crash, an older client) the first `has` rebuilds it with one scan. Another connection
 * sharing the file may index blobs meanwhile: `has` checks the generation at most every
 * BLOOM_RECHECK_MS and rebuilds the filter if it moved; until then those blobs may be reported
 * absent (stored again: a duplicate, never a loss).
 *
 * All methods are synchronous and no transaction ever spans an `await`, so several Repository
 * instances (in one process or several) may share a cache file safely (WAL mode, busy timeout).
 */
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { equalBytes, toHex } from '../encoding/bytes.ts';
import type { PackIndexEntry } from '../packfile/index-codec.ts';
import { BlobBloom, bloomBytesFor } from './blob-bloom.ts';
import { BlobIdMap } from './blob-id-map.ts';
import type { BlobId, BlobKind, BlobLocation } from './blob-store.ts';
import { PERSISTENT_SCHEMA, SCHEMA_VERSION, SESSION_SCHEMA } from './index-schema.ts';

/** A packfile and (some of) its blobs, as listed by a state. */
export interface IndexedPackfile {
  readonly id: Uint8Array;
  /** Total size of the packfile in bytes, when known. */
  readonly size?: number | undefined;
  readonly blobs: readonly PackIndexEntry[];
}

/** Status of a packfile written in this session. */
export const PendingPackStatus = { Filling: 0, Uploading: 1, Uploaded: 2 } as const;
export type PendingPackStatus = (typeof PendingPackStatus)[keyof typeof PendingPackStatus];

/** A packfile written in this session and not yet wholly listed by a state. */
interface PendingPack {
  readonly id: Uint8Array;
  readonly hex: string;
  status: PendingPackStatus;
  size: number | undefined;
  /** Its blobs, by offset. */
  readonly entries: PackIndexEntry[];
  /** `entries[0, listed)` are listed by a durable state (indexed). */
  listed: number;
}

/** Where a pending blob is. */
interface PendingBlob {
  readonly pack: PendingPack;
  readonly entry: PackIndexEntry;
}

type Row = Record<string, unknown>;

function bytes(row: Row, key: string): Uint8Array {
  const value = row[key];
  if (!(value instanceof Uint8Array)) throw new Error(`index cache: column ${key} is not a blob`);
  return value;
}

function int(row: Row, key: string): number {
  const value = row[key];
  if (typeof value !== 'number') throw new Error(`index cache: column ${key} is not an integer`);
  return value;
}

function toLocation(row: Row): BlobLocation {
  return {
    kind: int(row, 'kind') as BlobKind,
    id: bytes(row, 'id'),
    packfile: bytes(row, 'pack_id'),
    offset: int(row, 'offset'),
    length: int(row, 'length'),
    rawLength: int(row, 'raw_length'),
  };
}

/** The cache has data but no metadata: not one we wrote. */
class IndexCacheMismatch extends Error {}

/** SQLite result codes meaning the file is damaged or not a database (SQLITE_CORRUPT, SQLITE_NOTADB). */
const DAMAGED_CODES: ReadonlySet<number> = new Set([11, 26]);

/** True for node:sqlite errors saying the database file is damaged or is not a database. */
function isDamagedDatabase(err: unknown): boolean {
  if (err instanceof IndexCacheMismatch) return true;
  const code = (err as { errcode?: unknown } | null)?.errcode;
  return typeof code === 'number' && DAMAGED_CODES.has(code & 0xff);
}

/** Suffix of a damaged cache file set aside. */
const DAMAGED_SUFFIX = '.damaged';

/** The file name of the cache database inside its directory. */
export const INDEX_CACHE_FILE = 'index.sqlite';

/** Default bound of the Bloom filter of indexed blob ids: 64 MiB (~22M blobs at full precision). */
export const DEFAULT_MAX_BLOOM_BYTES = 64 * 1024 * 1024;

/** Options of IndexCache.open. */
export interface IndexCacheOptions {
  /** Bound of the Bloom filter of indexed ids, in bytes (default DEFAULT_MAX_BLOOM_BYTES). */
  readonly maxBloomBytes?: number;
}

/** Rows per multi-row insert of blobs. */
const INSERT_BATCH = 32;

/**
 * The two levels of the blob index (index-schema.ts), recent first: lookups of blobs stored in
 * this session find them there.
 */
const LEVELS = ['blobs_new', 'blobs'] as const;

/** One statement per level, joined by `op` (UNION ALL: rows of both; UNION: without repeats). */
function overLevels(op: 'UNION ALL' | 'UNION', sql: (table: string) => string): string {
  return LEVELS.map(sql).join(` ${op} `);
}

/** The location columns of a blob row `b` joined with its packfile `p`. */
const LOCATION_COLUMNS = 'b.kind, b.id, p.id AS pack_id, b.offset, b.length, b.raw_length';

/**
 * Bounds of `blobs_new` (rows) before a sweep into `blobs`. A state's inserts touch up to every
 * page of `blobs_new` and a sweep every page of `blobs`: the sum is least with a bound near
 * sqrt(SWEEP_FACTOR x rows of `blobs`) (SWEEP_FACTOR: half the blobs of a state).
 */
const SWEEP_MIN_ROWS = 65_536;
const SWEEP_MAX_ROWS = 524_288;
const SWEEP_FACTOR = 8_192;
/** Bytes per row of `blobs` in the file, on average (to estimate its rows from the page count). */
const BYTES_PER_ROW = 64;
/** Blobs per insert sorted by packed numeric keys (index in the low 21 bits); more: by comparison. */
const INDEX_BITS_LIMIT = 2 ** 21;

/** How often `has` looks for blobs indexed by other connections (see the file comment). */
const BLOOM_RECHECK_MS = 100;

/** The `meta` key of the index's generation (the Bloom filter is tagged with the one it covers). */
const GEN_KEY = 'blobs_gen';

function encodeGen(gen: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(gen));
  return out;
}

function decodeGen(value: unknown): number {
  if (!(value instanceof Uint8Array) || value.length !== 8) return 0;
  return Number(new DataView(value.buffer, value.byteOffset, 8).getBigUint64(0));
}

/**
 * The index cache of one store. Open it with `IndexCache.open`, which discards and recreates a
 * cache that is unreadable or of another schema version or store.
 */
export class IndexCache {
  readonly path: string;
  readonly #db: DatabaseSync;
  readonly #stmt: {
    locate: StatementSync;
    exists: StatementSync;
    stateApplied: StatementSync;
    insertState: StatementSync;
    upsertPack: StatementSync;
    packSize: StatementSync;
    snapshotIndexed: StatementSync;
    insertSnapshotIndexed: StatementSync;
    insertPackListed: StatementSync;
    packStatus: StatementSync;
    anyDeleted: StatementSync;
    listDeleted: StatementSync;
    packHandle: StatementSync;
    insertBlob: StatementSync;
    insertBlobs: StatementSync;
    markDeleted: StatementSync;
    listPacks: StatementSync;
    packBlobs: StatementSync;
    insertListed: StatementSync;
    getMeta: StatementSync;
    putMeta: StatementSync;
    getBloom: StatementSync;
    putBloom: StatementSync;
  };
  #inTransaction = false;
  /** This session's pending packfiles, by hex id, in the order they were started. */
  readonly #pendingPacks = new Map<string, PendingPack>();
  /** The pending packfile `addPendingBlob` saw last (no hex id per blob). */
  #lastPack: PendingPack | undefined;
  /** This session's pending blobs. */
  readonly #pending = new BlobIdMap<PendingBlob>();
  /** Pending blobs of uploaded packfiles not yet listed by a state. */
  #uploadedCount = 0;
  readonly #maxBloomBytes: number;
  /** The Bloom filter of indexed ids, once loaded or built (see the file comment). */
  #bloom: BlobBloom | undefined;
  /** The index generation the filter covers (every blob inserted up to it). */
  #bloomGen = 0;
  /** False once another connection inserted blobs the filter lacks: it is then not saved. */
  #bloomComplete = true;
  /** The filter changed since it was loaded or saved. */
  #bloomDirty = false;
  /** When `has` last compared the index's generation with the filter's. */
  #bloomCheckedAt = 0;
  /** Scans of the index that built a filter (bloomStats). */
  #bloomScans = 0;
  /** Rows in `blobs_new` (counted at open, then this connection's inserts: only a trigger). */
  #newRows = 0;
  /** Sweeps of `blobs_new` into `blobs` by this connection (levelStats). */
  #sweeps = 0;

  private constructor(path: string, db: DatabaseSync, options: IndexCacheOptions) {
    this.path = path;
    this.#db = db;
    this.#maxBloomBytes = options.maxBloomBytes ?? DEFAULT_MAX_BLOOM_BYTES;
    const p = (sql: string): StatementSync => db.prepare(sql);
    this.#stmt = {
      locate: p(
        `${overLevels(
          'UNION ALL',
          (t) => `SELECT ${LOCATION_COLUMNS} FROM ${t} b JOIN packfiles p ON p.pack = b.pack
             WHERE b.id = ? AND b.kind = ? AND p.deleted = 0`,
        )} LIMIT 1`,
      ),
      exists: p(
        `${overLevels(
          'UNION ALL',
          (t) => `SELECT 1 AS x FROM ${t} b JOIN packfiles p ON p.pack = b.pack
             WHERE b.id = ? AND b.kind = ? AND p.deleted = 0`,
        )} LIMIT 1`,
      ),
      stateApplied: p('SELECT 1 AS x FROM states WHERE id = ?'),
      insertState: p('INSERT OR IGNORE INTO states (id, applied_at) VALUES (?, ?)'),
      upsertPack: p(
        `INSERT INTO packfiles (id, size, time) VALUES (?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET size = coalesce(packfiles.size, excluded.size),
           time = max(coalesce(packfiles.time, excluded.time), excluded.time)`,
      ),
      packSize: p('SELECT size FROM packfiles WHERE id = ?'),
      snapshotIndexed: p('SELECT 1 AS x FROM snapshots_indexed WHERE id = ?'),
      insertSnapshotIndexed: p('INSERT OR IGNORE INTO snapshots_indexed (id) VALUES (?)'),
      insertPackListed: p('INSERT OR IGNORE INTO listed_packs (id) VALUES (?)'),
      packStatus: p('SELECT size, time, deleted FROM packfiles WHERE id = ?'),
      anyDeleted: p('SELECT 1 AS x FROM packfiles WHERE deleted <> 0 LIMIT 1'),
      listDeleted: p('SELECT pack, id FROM packfiles WHERE deleted = 1 AND pack > ? ORDER BY pack LIMIT ?'),
      packHandle: p('SELECT pack FROM packfiles WHERE id = ?'),
      insertBlob: p(
        'INSERT OR IGNORE INTO blobs_new (id, kind, pack, offset, length, raw_length) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      insertBlobs: p(
        `INSERT OR IGNORE INTO blobs_new (id, kind, pack, offset, length, raw_length) VALUES
         ${Array.from({ length: INSERT_BATCH }, () => '(?, ?, ?, ?, ?, ?)').join(', ')}`,
      ),
      markDeleted: p(
        'INSERT INTO packfiles (id, deleted) VALUES (?, 1) ON CONFLICT (id) DO UPDATE SET deleted = 1',
      ),
      listPacks: p('SELECT pack, id FROM packfiles WHERE deleted = 0 AND pack > ? ORDER BY pack LIMIT ?'),
      packBlobs: p(
        `${overLevels(
          'UNION',
          (t) => `SELECT ${LOCATION_COLUMNS} FROM ${t} b JOIN packfiles p ON p.pack = b.pack
             WHERE p.id = ? AND p.deleted = 0`,
        )} ORDER BY offset`,
      ),
      insertListed: p('INSERT OR IGNORE INTO listed_states (id) VALUES (?)'),
      getMeta: p('SELECT value FROM meta WHERE key = ?'),
      getBloom: p('SELECT data FROM bloom_filter WHERE id = 1'),
      putBloom: p('INSERT OR REPLACE INTO bloom_filter (id, data) VALUES (1, ?)'),
      putMeta: p(
        'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      ),
    };
    const row = db.prepare('SELECT count(*) AS n FROM blobs_new').get();
    this.#newRows = row ? int(row, 'n') : 0;
  }

  /** Rows in each level of the blob index and the sweeps so far (diagnostics, tests). */
  levelStats(): { newRows: number; rows: number; sweeps: number } {
    const n = (t: string): number => {
      const row = this.#db.prepare(`SELECT count(*) AS n FROM ${t}`).get();
      return row ? int(row, 'n') : 0;
    };
    return { newRows: n('blobs_new'), rows: n('blobs'), sweeps: this.#sweeps };
  }

  /**
   * Opens (or creates) the cache for `storeId` in `dir`. A cache that cannot be opened, or whose
   * schema version or store id differ, is deleted and recreated empty: it is only a cache, and the
   * caller brings it up to date from the store's states.
   */
  static open(dir: string, storeId: Uint8Array, options: IndexCacheOptions = {}): IndexCache {
    mkdirSync(dir, { recursive: true });
    const path = join(dir, INDEX_CACHE_FILE);
    let damage: string | undefined;
    try {
      const cache = IndexCache.#tryOpen(path, storeId, options);
      // SQLite's own check of every page (~0.12 s per million blobs): a damaged cache found now
      // is rebuilt, instead of failing lookups in the middle of a restore or a backup.
      damage = cache?.quickCheck();
      if (cache && damage === undefined) return cache;
      cache?.close();
    } catch (err) {
      // Only a damaged file is set aside; e.g. a cache busy in another process is not.
      if (!isDamagedDatabase(err)) {
        throw new Error(`index cache ${path}: ${(err as Error).message}`, { cause: err });
      }
      damage = (err as Error).message;
    }
    if (damage !== undefined) IndexCache.setAside(dir);
    else IndexCache.remove(dir); // another schema version or store: rebuilt silently
    const cache = IndexCache.#tryOpen(path, storeId, options);
    if (!cache) throw new Error(`index cache ${path}: could not be initialised`);
    if (damage !== undefined) cache.setAside = { reason: damage, path: `${path}${DAMAGED_SUFFIX}` };
    return cache;
  }

  /**
   * Set when `open` found the cache file damaged: it was renamed to `path` (kept for a bug
   * report) and a new cache started, rebuilt from the store's states by the caller.
   */
  setAside: { readonly reason: string; readonly path: string } | undefined;

  /** Renames a damaged cache out of the way (`index.sqlite.damaged`, replacing an older one). */
  static setAside(dir: string): void {
    const path = join(dir, INDEX_CACHE_FILE);
    try {
      renameSync(path, `${path}${DAMAGED_SUFFIX}`);
    } catch {
      // gone already
    }
    IndexCache.remove(dir);
  }

  /** Deletes the cache files in `dir` (the database and its WAL and shared-memory files). */
  static remove(dir: string): void {
    const path = join(dir, INDEX_CACHE_FILE);
    for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(path + suffix, { force: true });
  }

  static #tryOpen(path: string, storeId: Uint8Array, options: IndexCacheOptions): IndexCache | undefined {
    const db = new DatabaseSync(path);
    try {
      db.exec('PRAGMA busy_timeout = 10000');
      db.exec('PRAGMA journal_mode = WAL');
      db.exec('PRAGMA synchronous = NORMAL');
      db.exec('PRAGMA temp_store = FILE');
      // 16 MiB of pages at most, whatever the index size. A state's inserts of random ids touch
      // pages all over the recent level (`blobs_new`), which stays about that size; the main level
      // is written in sweeps, page by page in id order (index-schema.ts). 3M random blobs through
      // this cache: 91 s with every state inserted into `blobs` (64 MiB of pages), 51-52 s with the
      // two levels at 16 or 64 MiB.
      db.exec('PRAGMA cache_size = -16384');
      // A sweep writes every page of `blobs` to the WAL: truncated back after its checkpoint.
      db.exec('PRAGMA journal_size_limit = 67108864');
      db.exec(PERSISTENT_SCHEMA);
      const meta = new Map<string, Uint8Array>();
      for (const row of db
        .prepare("SELECT key, value FROM meta WHERE key IN ('schema_version', 'store_id')")
        .all()) {
        meta.set(String(row.key), bytes(row, 'value'));
      }
      const version = meta.get('schema_version');
      const id = meta.get('store_id');
      if (version === undefined && id === undefined) {
        const hasData = db.prepare('SELECT 1 AS x FROM states LIMIT 1').get();
        if (hasData) throw new IndexCacheMismatch('index cache without metadata');
        const put = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
        put.run('schema_version', new TextEncoder().encode(String(SCHEMA_VERSION)));
        put.run('store_id', storeId);
        // An empty index: its (empty) filter is complete.
        put.run(GEN_KEY, encodeGen(0));
        db.prepare('INSERT OR REPLACE INTO bloom_filter (id, data) VALUES (1, ?)').run(
          new BlobBloom(bloomBytesFor(0, options.maxBloomBytes ?? DEFAULT_MAX_BLOOM_BYTES)).serialize(0),
        );
      } else if (
        version === undefined ||
        new TextDecoder().decode(version) !== String(SCHEMA_VERSION) ||
        id === undefined ||
        !equalBytes(id, storeId)
      ) {
        db.close();
        return undefined;
      }
      db.exec(SESSION_SCHEMA);
      return new IndexCache(path, db, options);
    } catch (err) {
      if (db.isOpen) db.close();
      throw err;
    }
  }

  /** Runs `fn` in one write transaction (nested calls join the outer one). */
  transaction<T>(fn: () => T): T {
    if (this.#inTransaction) return fn();
    this.#db.exec('BEGIN IMMEDIATE');
    this.#inTransaction = true;
    try {
      const result = fn();
      this.#db.exec('COMMIT');
      return result;
    } catch (err) {
      // SQLite ends the transaction itself on some failures (a full disk, an I/O error): then
      // there is nothing to roll back, and the error to report is the first one.
      if (this.#db.isTransaction) {
        try {
          this.#db.exec('ROLLBACK');
        } catch {
          // the first error says more
        }
      }
      throw new Error(`local cache ${this.path}: ${(err as Error).message}`, { cause: err });
    } finally {
      this.#inTransaction = false;
    }
  }

  /** Where a blob is: an indexed copy in a live packfile first, else a pending one of this session. */
  locate(kind: BlobKind, id: BlobId): BlobLocation | undefined {
    const row = this.#stmt.locate.get(id, kind, id, kind);
    if (row) return toLocation(row);
    return this.locatePending(kind, id);
  }

  /** A copy of a blob in a packfile found missing from storage (for messages), or undefined. */
  locateLost(kind: BlobKind, id: BlobId): BlobLocation | undefined {
    const row = this.#db
      .prepare(
        `${overLevels(
          'UNION ALL',
          (t) => `SELECT ${LOCATION_COLUMNS} FROM ${t} b JOIN packfiles p ON p.pack = b.pack
             WHERE b.id = ? AND b.kind = ? AND p.deleted = 2`,
        )} LIMIT 1`,
      )
      .get(id, kind, id, kind);
    return row ? toLocation(row) : undefined;
  }

  /** Where a pending (unflushed) blob of this session is, or undefined. */
  locatePending(kind: BlobKind, id: BlobId): BlobLocation | undefined {
    const p = this.#pending.get(kind, id);
    if (!p) return undefined;
    const e = p.entry;
    return {
      kind: e.kind,
      id: e.id,
      packfile: p.pack.id,
      offset: e.offset,
      length: e.length,
      rawLength: e.rawLength,
    };
  }

  /** True if the blob is indexed in a live packfile or pending in this session. */
  has(kind: BlobKind, id: BlobId): boolean {
    if (this.#pending.has(kind, id)) return true;
    const bloom = this.#readyBloom();
    if (bloom !== undefined && !bloom.mayHave(id)) return false;
    // Existence only: no row of locations to build (about 40% cheaper per call than locate).
    return this.#stmt.exists.get(id, kind, id, kind) !== undefined;
  }

  // ---- the Bloom filter of indexed ids -------------------------------------------------------

  #generation(): number {
    return decodeGen(this.#stmt.getMeta.get(GEN_KEY)?.value);
  }

  /** The saved filter, if it covers generation `gen`. */
  #storedBloom(gen: number): BlobBloom | undefined {
    const value = this.#stmt.getBloom.get()?.data;
    return value instanceof Uint8Array ? BlobBloom.deserialize(value, gen) : undefined;
  }

  /**
   * The filter, loaded (or built with one scan of the index, or rebuilt larger when crowded) on
   * first use; undefined inside a transaction (then every lookup asks the database).
   */
  #readyBloom(): BlobBloom | undefined {
    let current = this.#bloom;
    if (current !== undefined) {
      const now = Date.now();
      if (now - this.#bloomCheckedAt >= BLOOM_RECHECK_MS && !this.#db.isTransaction) {
        this.#bloomCheckedAt = now;
        if (this.#generation() !== this.#bloomGen) this.#bloom = current = undefined; // others indexed blobs
      }
      if (current !== undefined && !(current.crowded && current.bytes < this.#maxBloomBytes)) return current;
    }
    if (this.#inTransaction || this.#db.isTransaction) return current;
    this.#db.exec('BEGIN'); // one read snapshot: the generation and the ids it covers
    try {
      const gen = this.#generation();
      if (current === undefined) {
        const stored = this.#storedBloom(gen);
        if (stored !== undefined && !(stored.crowded && stored.bytes < this.#maxBloomBytes)) {
          this.#setBloom(stored, gen, false);
          return stored;
        }
      }
      const row = this.#db
        .prepare(`SELECT ${LEVELS.map((t) => `(SELECT count(*) FROM ${t})`).join(' + ')} AS n`)
        .get();
      const bloom = new BlobBloom(bloomBytesFor(row ? int(row, 'n') : 0, this.#maxBloomBytes));
      const scan = this.#db.prepare(overLevels('UNION ALL', (t) => `SELECT id FROM ${t}`));
      scan.setReturnArrays(true);
      for (const r of scan.iterate() as Iterable<unknown[]>) bloom.add(r[0] as Uint8Array);
      this.#setBloom(bloom, gen, true);
      this.#bloomScans++;
      return bloom;
    } finally {
      this.#db.exec('COMMIT');
    }
  }

  #setBloom(bloom: BlobBloom, gen: number, dirty: boolean): void {
    this.#bloom = bloom;
    this.#bloomCheckedAt = Date.now();
    this.#bloomGen = gen;
    this.#bloomComplete = true;
    this.#bloomDirty = dirty;
  }

  /** In a transaction inserting blobs: bumps the generation; returns the one before. */
  #bumpGeneration(): number {
    const gen = this.#generation();
    this.#stmt.putMeta.run(GEN_KEY, encodeGen(gen + 1));
    return gen;
  }

  /** After a transaction that inserted `packfiles`' blobs at generation `gen` (now gen + 1). */
  #bloomAdd(packfiles: readonly IndexedPackfile[], gen: number): void {
    if (this.#bloom === undefined) {
      // Loaded now if it is up to date, so that applying states at open keeps it so.
      const stored = this.#storedBloom(gen);
      if (stored === undefined) return;
      this.#setBloom(stored, gen, false);
    }
    const bloom = this.#bloom!;
    if (gen !== this.#bloomGen) this.#bloomComplete = false; // another connection inserted blobs
    for (const pack of packfiles) for (const b of pack.blobs) bloom.add(b.id);
    this.#bloomGen = gen + 1;
    this.#bloomDirty = true;
  }

  /**
   * The Bloom filter as this connection holds it (diagnostics, tests): its size, the ids added,
   * how it was obtained (`scans` counts the scans of the index that built one), and whether it
   * covers every blob indexed so far; undefined until first needed.
   */
  bloomStats(): { bytes: number; count: number; scans: number; complete: boolean } | undefined {
    const bloom = this.#bloom;
    if (bloom === undefined) return undefined;
    return {
      bytes: bloom.bytes,
      count: bloom.count,
      scans: this.#bloomScans,
      complete: this.#bloomComplete && this.#generation() === this.#bloomGen,
    };
  }

  /** Saves the filter if it changed and still covers the whole index. */
  #saveBloom(): void {
    const bloom = this.#bloom;
    if (bloom === undefined || !this.#bloomDirty || !this.#bloomComplete) return;
    this.transaction(() => {
      if (this.#generation() !== this.#bloomGen) return;
      this.#stmt.putBloom.run(bloom.serialize(this.#bloomGen));
    });
    this.#bloomDirty = false;
  }

  /** True if some state deleted a packfile (deletions are sticky: see index-schema.ts). */
  anyPackfileDeleted(): boolean {
    // deleted by a state (1) or found missing from storage (2)
    return this.#stmt.anyDeleted.get() !== undefined;
  }

  /** True if `snapshotId` was written through this cache and no blob left the index since. */
  isSnapshotIndexed(snapshotId: Uint8Array): boolean {
    return this.#stmt.snapshotIndexed.get(snapshotId) !== undefined;
  }

  /** Records that a backup through this cache wrote `snapshotId` (every blob it references is indexed). */
  markSnapshotIndexed(snapshotId: Uint8Array): void {
    this.#stmt.insertSnapshotIndexed.run(snapshotId);
  }

  // ---- packfiles missing from storage ----------------------------------------------------------

  /**
   * Starts a comparison of the index with a listing of the store's packfiles; returns a mark that
   * `endPackListing` takes (packfiles indexed after it, by this or another process, are not
   * judged: the listing may have started before their put).
   */
  beginPackListing(): number {
    this.#db.exec('DELETE FROM listed_packs');
    const row = this.#db.prepare('SELECT coalesce(max(pack), 0) AS n FROM packfiles').get();
    return row ? int(row, 'n') : 0;
  }

  /** Records a packfile id seen by the current listing. */
  markPackListed(packId: Uint8Array): void {
    this.#stmt.insertPackListed.run(packId);
  }

  /**
   * Ends the comparison: indexed packfiles (as of `mark`) the listing did not see are marked
   * missing (their blobs leave the index); packfiles marked missing that it saw are live again.
   * Returns the ids of the packfiles newly found missing.
   */
  endPackListing(mark: number): Uint8Array[] {
    return this.transaction(() => {
      const missing = this.#db
        .prepare(
          `SELECT id FROM packfiles WHERE deleted = 0 AND pack <= ?
           AND id NOT IN (SELECT id FROM listed_packs)`,
        )
        .all(mark)
        .map((row) => bytes(row, 'id'));
      if (missing.length > 0) {
        this.#db
          .prepare(
            `UPDATE packfiles SET deleted = 2 WHERE deleted = 0 AND pack <= ?
             AND id NOT IN (SELECT id FROM listed_packs)`,
          )
          .run(mark);
        this.#db.exec('DELETE FROM snapshots_indexed');
      }
      this.#db.exec(
        'UPDATE packfiles SET deleted = 0 WHERE deleted = 2 AND id IN (SELECT id FROM listed_packs)',
      );
      this.#db.exec('DELETE FROM listed_packs');
      return missing;
    });
  }

  /** Marks packfiles missing from storage (check found them gone): their blobs leave the index. */
  markPackfilesMissing(packIds: readonly Uint8Array[]): void {
    if (packIds.length === 0) return;
    this.transaction(() => {
      const mark = this.#db.prepare('UPDATE packfiles SET deleted = 2 WHERE deleted = 0 AND id = ?');
      for (const id of packIds) mark.run(id);
      this.#db.exec('DELETE FROM snapshots_indexed');
    });
  }

  /**
   * Drops one copy of a blob from the index (its bytes in that packfile failed verification), so
   * that lookups take another copy or none, and a backup stores it again.
   */
  forgetBlob(kind: BlobKind, id: BlobId, packId: Uint8Array): void {
    this.transaction(() => {
      for (const t of LEVELS) {
        this.#db
          .prepare(
            `DELETE FROM ${t} WHERE id = ? AND kind = ? AND pack = (SELECT pack FROM packfiles WHERE id = ?)`,
          )
          .run(id, kind, packId);
      }
      this.#db.exec('DELETE FROM snapshots_indexed');
    });
  }

  /** True if the state was already applied to this cache. */
  isStateApplied(stateId: Uint8Array): boolean {
    return this.#stmt.stateApplied.get(stateId) !== undefined;
  }

  /**
   * Applies one state (its packfiles and deletions) and records it as applied, in one transaction.
   * `time` is the state's time (Unix seconds): the listed packfiles' time becomes the newest of
   * the times of the states listing them. Applying a state twice is a no-op. Returns true if it had deletions (see `purgeDeleted`).
   */
  applyState(
    stateId: Uint8Array,
    packfiles: readonly IndexedPackfile[],
    deletedPackfiles: readonly Uint8Array[],
    time: number,
  ): boolean {
    let gen: number | undefined;
    const deleted = this.transaction(() => {
      if (this.isStateApplied(stateId)) return false;
      gen = this.#insertPackfiles(packfiles, time);
      for (const id of deletedPackfiles) this.#stmt.markDeleted.run(id);
      if (deletedPackfiles.length > 0) this.#db.exec('DELETE FROM snapshots_indexed');
      this.#stmt.insertState.run(stateId, Date.now());
      return deletedPackfiles.length > 0;
    });
    if (gen !== undefined) this.#bloomAdd(packfiles, gen);
    return deleted;
  }

  /**
   * Inserts packfiles and their blobs (in a transaction). Blobs go in id order: random-key inserts
   * into the B-tree are several times faster sorted (each page is visited once per batch, not once
   * per row). Returns the generation before, if it inserted blobs (see `#bloomAdd`).
   */
  #insertPackfiles(packfiles: readonly IndexedPackfile[], time: number): number | undefined {
    const blobs: PackIndexEntry[] = [];
    const handles: number[] = [];
    for (const pack of packfiles) {
      this.#stmt.upsertPack.run(pack.id, pack.size ?? null, time);
      const handle = this.#stmt.packHandle.get(pack.id);
      if (!handle) throw new Error('index cache: packfile row vanished');
      const h = int(handle, 'pack');
      for (const b of pack.blobs) {
        blobs.push(b);
        handles.push(h);
      }
    }
    if (blobs.length === 0) return undefined;
    const n = blobs.length;
    // The order only matters for speed: by the ids' first 32 bits (ties in any order), with a
    // numeric sort of (prefix * 2^21 + index) keys, ~20x cheaper than comparing ids.
    let order: ArrayLike<number>;
    if (n < INDEX_BITS_LIMIT) {
      const keys = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const id = blobs[i]!.id;
        const prefix = ((id[0]! << 24) | (id[1]! << 16) | (id[2]! << 8) | id[3]!) >>> 0;
        keys[i] = prefix * INDEX_BITS_LIMIT + i;
      }
      keys.sort();
      for (let i = 0; i < n; i++) keys[i] = keys[i]! % INDEX_BITS_LIMIT;
      order = keys;
    } else {
      order = Array.from({ length: n }, (_, i) => i).sort((x, y) =>
        Buffer.compare(blobs[x]!.id, blobs[y]!.id),
      );
    }
    // INSERT_BATCH rows per statement: half the cost per row of one statement per row.
    const args: SQLInputValue[] = new Array(INSERT_BATCH * 6);
    let i = 0;
    let inserted = 0;
    for (; i + INSERT_BATCH <= n; i += INSERT_BATCH) {
      for (let j = 0, o = 0; j < INSERT_BATCH; j++, o += 6) {
        const k = order[i + j]!;
        const b = blobs[k]!;
        args[o] = b.id;
        args[o + 1] = b.kind;
        args[o + 2] = handles[k]!;
        args[o + 3] = b.offset;
        args[o + 4] = b.length;
        args[o + 5] = b.rawLength;
      }
      inserted += Number(this.#stmt.insertBlobs.run(...args).changes);
    }
    for (; i < n; i++) {
      const k = order[i]!;
      const b = blobs[k]!;
      inserted += Number(
        this.#stmt.insertBlob.run(b.id, b.kind, handles[k]!, b.offset, b.length, b.rawLength).changes,
      );
    }
    this.#newRows += inserted;
    if (this.#newRows >= this.#sweepBound()) this.#sweep();
    return this.#bumpGeneration();
  }

  /** Rows of `blobs_new` that start a sweep, for the current size of the file. */
  #sweepBound(): number {
    const pages = this.#db.prepare('PRAGMA page_count').get();
    const size = this.#db.prepare('PRAGMA page_size').get();
    const rows =
      ((pages ? int(pages, 'page_count') : 0) * (size ? int(size, 'page_size') : 4096)) / BYTES_PER_ROW;
    return Math.min(SWEEP_MAX_ROWS, Math.max(SWEEP_MIN_ROWS, Math.sqrt(SWEEP_FACTOR * rows)));
  }

  /**
   * Moves the rows of `blobs_new` into `blobs` (in a transaction): one pass in id order, so each
   * page of `blobs` is read and written once. The set of indexed blobs does not change.
   */
  #sweep(): void {
    this.transaction(() => {
      this.#db.exec(
        `INSERT OR IGNORE INTO blobs (id, kind, pack, offset, length, raw_length)
         SELECT id, kind, pack, offset, length, raw_length FROM blobs_new ORDER BY id, kind, pack`,
      );
      this.#db.exec('DELETE FROM blobs_new');
    });
    this.#newRows = 0;
    this.#sweeps++;
  }

  /** Removes the rows of blobs whose packfiles are deleted (they are already invisible to lookups). */
  purgeDeleted(): void {
    this.transaction(() => {
      for (const t of LEVELS) {
        this.#db.exec(`DELETE FROM ${t} WHERE pack IN (SELECT pack FROM packfiles WHERE deleted = 1)`);
      }
    });
  }

  /** Live (not deleted) packfiles of the index, paged so the caller may await between pages. */
  packfiles(pageSize = 1000): Generator<Uint8Array> {
    return this.#paged(this.#stmt.listPacks, pageSize);
  }

  /** Packfiles some state lists as deleted by maintenance, paged. */
  deletedPackfiles(pageSize = 1000): Generator<Uint8Array> {
    return this.#paged(this.#stmt.listDeleted, pageSize);
  }

  *#paged(stmt: StatementSync, pageSize: number): Generator<Uint8Array> {
    let after = -1;
    for (;;) {
      const rows = stmt.all(after, pageSize);
      for (const row of rows) yield bytes(row, 'id');
      const last = rows.at(-1);
      if (!last || rows.length < pageSize) return;
      after = int(last, 'pack');
    }
  }

  /**
   * What the index knows of a packfile: its size (if a state gave it), the newest time (Unix
   * seconds) of the states listing it, and whether a state deleted it; undefined if no state
   * names it.
   */
  packfileStatus(
    packId: Uint8Array,
  ): { size?: number; time?: number; deleted: boolean; missing: boolean } | undefined {
    const row = this.#stmt.packStatus.get(packId);
    if (!row) return undefined;
    return {
      ...(typeof row.size === 'number' ? { size: row.size } : {}),
      ...(typeof row.time === 'number' ? { time: row.time } : {}),
      deleted: row.deleted === 1,
      missing: row.deleted === 2,
    };
  }

  /** Size of a packfile known to the index or pending in this session, or undefined. */
  packfileSize(packId: Uint8Array): number | undefined {
    const size = this.#stmt.packSize.get(packId)?.size;
    if (typeof size === 'number') return size;
    return this.#pendingPacks.get(toHex(packId))?.size;
  }

  /** The indexed blobs of one live packfile, by offset. */
  packfileBlobs(packId: Uint8Array): BlobLocation[] {
    return this.#stmt.packBlobs.all(packId, packId).map(toLocation);
  }

  // ---- listing the store's states ------------------------------------------------------------

  /** Starts a listing of the store's states: remembers the states applied so far. */
  beginListing(): void {
    this.transaction(() => {
      this.#db.exec('DELETE FROM listed_states');
      this.#db.exec('DELETE FROM states_before');
      this.#db.exec('INSERT INTO states_before SELECT id FROM states');
    });
  }

  /** Records a state id seen by the current listing. */
  markListed(stateId: Uint8Array): void {
    this.#stmt.insertListed.run(stateId);
  }

  /**
   * Number of states applied before the current listing started that it did not see: the store
   * lost them (maintenance), so the cache may hold stale entries. (States applied while listing,
   * e.g. by another process sharing the cache, are not counted.)
   */
  vanishedStates(): number {
    const row = this.#db
      .prepare('SELECT count(*) AS n FROM states_before WHERE id NOT IN (SELECT id FROM listed_states)')
      .get();
    return row ? int(row, 'n') : 0;
  }

  // ---- this session's pending blobs ----------------------------------------------------------

  /** Registers a packfile being filled in this session. */
  addPendingPack(packId: Uint8Array): void {
    const hex = toHex(packId);
    if (this.#pendingPacks.has(hex)) throw new Error(`index cache: packfile ${hex} is already pending`);
    const pack: PendingPack = {
      id: packId,
      hex,
      status: PendingPackStatus.Filling,
      size: undefined,
      entries: [],
      listed: 0,
    };
    this.#pendingPacks.set(hex, pack);
    this.#lastPack = pack;
  }

  #pendingPack(packId: Uint8Array): PendingPack {
    const last = this.#lastPack;
    if (last !== undefined && last.id === packId) return last;
    const pack = this.#pendingPacks.get(toHex(packId));
    if (!pack) throw new Error(`index cache: packfile ${toHex(packId)} is not pending`);
    this.#lastPack = pack;
    return pack;
  }

  /** Moves a pending packfile to another status (and records its final size once known). */
  setPendingPackStatus(packId: Uint8Array, status: PendingPackStatus, size?: number): void {
    const pack = this.#pendingPack(packId);
    if (status === PendingPackStatus.Uploaded && pack.status !== PendingPackStatus.Uploaded) {
      this.#uploadedCount += pack.entries.length - pack.listed;
    }
    pack.status = status;
    if (size !== undefined) pack.size = size;
    this.#dropIfListed(pack);
  }

  /** Records a blob appended to a pending packfile (after the blobs appended before it). */
  addPendingBlob(packId: Uint8Array, entry: PackIndexEntry): void {
    const pack = this.#pendingPack(packId);
    if (pack.status !== PendingPackStatus.Filling) {
      throw new Error(`index cache: packfile ${pack.hex} is no longer being filled`);
    }
    pack.entries.push(entry);
    this.#pending.set(entry.kind, entry.id, { pack, entry });
  }

  /** Forgets a pending packfile once a state lists all its blobs. */
  #dropIfListed(pack: PendingPack): void {
    if (pack.status !== PendingPackStatus.Uploaded || pack.listed < pack.entries.length) return;
    this.#pendingPacks.delete(pack.hex);
    if (this.#lastPack === pack) this.#lastPack = undefined;
  }

  /** Number of pending blobs whose packfiles are durable (ready to be listed by a state). */
  pendingUploadedCount(): number {
    return this.#uploadedCount;
  }

  /**
   * Up to `limit` pending blobs of durable packfiles not yet listed, grouped by packfile (in the
   * order the packfiles were started), by offset. The next call returns the same blobs until
   * `commitState` lists them.
   */
  pendingUploaded(limit: number): IndexedPackfile[] {
    const out: IndexedPackfile[] = [];
    let left = limit;
    for (const pack of this.#pendingPacks.values()) {
      if (left <= 0) break;
      if (pack.status !== PendingPackStatus.Uploaded) continue;
      const end = Math.min(pack.entries.length, pack.listed + left);
      if (end <= pack.listed) continue;
      out.push({ id: pack.id, size: pack.size, blobs: pack.entries.slice(pack.listed, end) });
      left -= end - pack.listed;
    }
    return out;
  }

  /**
   * Records that a state listing `packfiles`, written at `time` (Unix seconds), is durable: its
   * blobs are indexed (one sorted batch) and the state is marked applied, in one transaction;
   * then they stop being pending. `packfiles` are what `pendingUploaded` returned.
   */
  commitState(stateId: Uint8Array, packfiles: readonly IndexedPackfile[], time: number): void {
    const gen = this.transaction(() => {
      const before = this.#insertPackfiles(packfiles, time);
      this.#stmt.insertState.run(stateId, Date.now());
      return before;
    });
    if (gen !== undefined) this.#bloomAdd(packfiles, gen);
    for (const listed of packfiles) {
      const pack = this.#pendingPacks.get(toHex(listed.id));
      if (!pack) continue;
      for (const b of listed.blobs) {
        if (this.#pending.get(b.kind, b.id)?.pack === pack) this.#pending.delete(b.kind, b.id);
      }
      pack.listed = Math.min(pack.entries.length, pack.listed + listed.blobs.length);
      if (pack.status === PendingPackStatus.Uploaded) this.#uploadedCount -= listed.blobs.length;
      this.#dropIfListed(pack);
    }
    if (this.#uploadedCount < 0) this.#uploadedCount = 0;
  }

  /** Forgets every pending blob and packfile of this session (after a failed session). */
  clearPending(): void {
    this.#pending.clear();
    this.#pendingPacks.clear();
    this.#lastPack = undefined;
    this.#uploadedCount = 0;
  }

  /**
   * SQLite's own check of the database file (PRAGMA quick_check): undefined if sound, else its
   * first complaint. Reads the whole file.
   */
  quickCheck(): string | undefined {
    try {
      const rows = this.#db.prepare('PRAGMA quick_check(5)').all();
      const first = rows.map((r) => String(Object.values(r)[0])).find((v) => v !== 'ok');
      return first;
    } catch (err) {
      return (err as Error).message;
    }
  }

  /** Counts of the cache's content, for diagnostics and tests. */
  stats(): { states: number; packfiles: number; blobs: number; pendingBlobs: number } {
    const n = (sql: string): number => {
      const row = this.#db.prepare(sql).get();
      return row ? int(row, 'n') : 0;
    };
    return {
      states: n('SELECT count(*) AS n FROM states'),
      packfiles: n('SELECT count(*) AS n FROM packfiles WHERE deleted = 0'),
      blobs: n(
        `SELECT count(*) AS n FROM (${overLevels('UNION', (t) => `SELECT id, kind, pack FROM ${t}`)}) b
         JOIN packfiles p ON p.pack = b.pack WHERE p.deleted = 0`,
      ),
      pendingBlobs: this.#pending.size,
    };
  }

  /**
   * Saves the Bloom filter of indexed ids if it changed (never fails: it is only a shortcut),
   * then closes the database; pending blobs are forgotten.
   */
  close(): void {
    this.clearPending();
    if (!this.#db.isOpen) return;
    try {
      this.#saveBloom();
    } catch {
      // rebuilt by the next session that needs it
    }
    this.#db.close();
  }
}
