/**
 * Maintenance's scratch space, on disk (a temporary node:sqlite database), so that memory does not
 * grow with the store: the blobs the snapshots reference (the mark set), the packfiles chosen
 * for repacking and for deletion. Removed on close.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { BlobId, BlobKind } from '../repository/blob-store.ts';

const SCHEMA = `
CREATE TABLE live (id BLOB NOT NULL, kind INTEGER NOT NULL, PRIMARY KEY (id, kind)) WITHOUT ROWID;
CREATE TABLE doomed (seq INTEGER PRIMARY KEY, id BLOB NOT NULL UNIQUE, size INTEGER);
CREATE TABLE repack (seq INTEGER PRIMARY KEY, id BLOB NOT NULL UNIQUE, size INTEGER);
`;

/** A packfile chosen for deletion. */
export interface DoomedPackfile {
  readonly id: Uint8Array;
  /** Its size in bytes, when known. */
  readonly size: number | undefined;
}

/** The mark set and the deletion list of one maintenance run. */
export class MarkSet {
  readonly #dir: string;
  readonly #db: DatabaseSync;
  readonly #add: StatementSync;
  readonly #has: StatementSync;
  readonly #doom: StatementSync;
  readonly #isDoomed: StatementSync;
  readonly #doomedPage: StatementSync;
  readonly #repack: StatementSync;
  readonly #repackPage: StatementSync;

  private constructor(dir: string, db: DatabaseSync) {
    this.#dir = dir;
    this.#db = db;
    this.#add = db.prepare('INSERT OR IGNORE INTO live (id, kind) VALUES (?, ?)');
    this.#has = db.prepare('SELECT 1 AS x FROM live WHERE id = ? AND kind = ?');
    this.#doom = db.prepare(
      `INSERT INTO doomed (id, size) VALUES (?, ?)
       ON CONFLICT (id) DO UPDATE SET size = coalesce(excluded.size, doomed.size)`,
    );
    this.#isDoomed = db.prepare('SELECT 1 AS x FROM doomed WHERE id = ?');
    this.#doomedPage = db.prepare('SELECT seq, id, size FROM doomed WHERE seq > ? ORDER BY seq LIMIT ?');
    this.#repack = db.prepare('INSERT OR IGNORE INTO repack (id, size) VALUES (?, ?)');
    this.#repackPage = db.prepare('SELECT seq, id, size FROM repack WHERE seq > ? ORDER BY seq LIMIT ?');
  }

  /** A new, empty scratch database in a fresh directory under `tempDir` (default: the OS's). */
  static open(tempDir?: string): MarkSet {
    const dir = mkdtempSync(join(tempDir ?? tmpdir(), 'kloset-maintenance-'));
    try {
      const db = new DatabaseSync(join(dir, 'marks.sqlite'));
      db.exec('PRAGMA journal_mode = OFF');
      db.exec('PRAGMA synchronous = OFF');
      db.exec('PRAGMA temp_store = FILE');
      db.exec('PRAGMA cache_size = -16384');
      db.exec(SCHEMA);
      return new MarkSet(dir, db);
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** Runs `fn` in one transaction (inserts are much faster batched). Not reentrant. */
  batch(fn: () => void): void {
    this.#db.exec('BEGIN');
    try {
      fn();
    } catch (err) {
      this.#db.exec('ROLLBACK');
      throw err;
    }
    this.#db.exec('COMMIT');
  }

  /** Marks a blob as referenced; true if it was not marked yet. */
  mark(kind: BlobKind, id: BlobId): boolean {
    return Number(this.#add.run(id, kind).changes) > 0;
  }

  /** True if the blob is referenced. */
  isMarked(kind: BlobKind, id: BlobId): boolean {
    return this.#has.get(id, kind) !== undefined;
  }

  /** Adds a packfile to the deletion list (once; a known size replaces an unknown one). */
  doom(id: Uint8Array, size: number | undefined): void {
    this.#doom.run(id, size ?? null);
  }

  /** True if the packfile is on the deletion list. */
  isDoomed(id: Uint8Array): boolean {
    return this.#isDoomed.get(id) !== undefined;
  }

  /** The deletion list in pages of at most `pageSize`, in the order it was built. */
  doomed(pageSize: number): Generator<DoomedPackfile[]> {
    return this.#pages(this.#doomedPage, pageSize);
  }

  /** Adds a packfile to the repacking list (its live blobs are copied, then it is deleted). */
  planRepack(id: Uint8Array, size: number | undefined): void {
    this.#repack.run(id, size ?? null);
  }

  /** The repacking list in pages of at most `pageSize`. */
  toRepack(pageSize: number): Generator<DoomedPackfile[]> {
    return this.#pages(this.#repackPage, pageSize);
  }

  *#pages(stmt: StatementSync, pageSize: number): Generator<DoomedPackfile[]> {
    let after = 0;
    for (;;) {
      const rows = stmt.all(after, pageSize);
      if (rows.length === 0) return;
      yield rows.map((r) => ({
        id: r.id as Uint8Array,
        size: typeof r.size === 'number' ? r.size : undefined,
      }));
      after = Number(rows.at(-1)!.seq);
    }
  }

  /** Closes the database and removes its directory. */
  close(): void {
    if (this.#db.isOpen) this.#db.close();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
