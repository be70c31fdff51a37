/**
 * The content map of `sync`, on disk (node:sqlite): for a file's content in the source store (its
 * list of chunk ids and lengths), the chunk list the same content got in the destination store.
 * Two stores have different keys, hence different chunk boundaries and ids, so content is
 * re-chunked once; files met again (in the next snapshot synced, or in the next run when the map
 * is kept in the destination's cache directory) are mapped without reading them.
 *
 * The key is SHA-256 over the source chunk ids and lengths (keyed MACs already, FORMAT.md §4.1):
 * it stays on this machine. A mapped chunk list is used only if every chunk is in the
 * destination's index, so a stale map (maintenance, a run stopped before its flush) only costs a
 * re-read.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { ChunkRef } from '../snapshot/entry.ts';

const SCHEMA = 'CREATE TABLE IF NOT EXISTS map (key BLOB PRIMARY KEY, chunks BLOB NOT NULL) WITHOUT ROWID;';

/** The file name of a kept map inside its directory. */
export const CONTENT_MAP_FILE = 'sync-map.sqlite';

/** The key of a source file's content. */
export function contentKey(chunks: readonly ChunkRef[]): Buffer {
  const h = createHash('sha256');
  const len = Buffer.alloc(4);
  for (const c of chunks) {
    h.update(c.id);
    len.writeUInt32BE(c.length);
    h.update(len);
  }
  return h.digest();
}

function encodeChunks(chunks: readonly ChunkRef[]): Buffer {
  const out = Buffer.alloc(chunks.length * 36);
  chunks.forEach((c, i) => {
    out.set(c.id, i * 36);
    out.writeUInt32BE(c.length, i * 36 + 32);
  });
  return out;
}

function decodeChunks(bytes: Uint8Array): ChunkRef[] {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length % 36 !== 0) return [];
  const out: ChunkRef[] = [];
  for (let off = 0; off < b.length; off += 36) {
    out.push({ id: new Uint8Array(b.subarray(off, off + 32)), length: b.readUInt32BE(off + 32) });
  }
  return out;
}

/** A content map; `open` keeps it in `dir`, `temporary` removes it on close. */
export class ContentMap {
  readonly #db: DatabaseSync;
  readonly #get: StatementSync;
  readonly #put: StatementSync;
  readonly #removeDir: string | undefined;

  private constructor(path: string, removeDir: string | undefined) {
    this.#db = new DatabaseSync(path);
    this.#db.exec('PRAGMA busy_timeout = 10000');
    this.#db.exec('PRAGMA journal_mode = WAL');
    this.#db.exec('PRAGMA synchronous = NORMAL');
    this.#db.exec(SCHEMA);
    this.#get = this.#db.prepare('SELECT chunks FROM map WHERE key = ?');
    this.#put = this.#db.prepare('INSERT OR REPLACE INTO map (key, chunks) VALUES (?, ?)');
    this.#removeDir = removeDir;
  }

  /** The map kept in `dir` (created if needed), or a temporary one when `dir` is undefined. */
  static open(dir: string | undefined): ContentMap {
    if (dir === undefined) {
      const tmp = mkdtempSync(join(tmpdir(), 'kloset-sync-'));
      return new ContentMap(join(tmp, CONTENT_MAP_FILE), tmp);
    }
    mkdirSync(dir, { recursive: true });
    return new ContentMap(join(dir, CONTENT_MAP_FILE), undefined);
  }

  /** The destination chunks recorded for a source content key, if any. */
  get(key: Uint8Array): ChunkRef[] | undefined {
    const row = this.#get.get(key);
    return row?.chunks instanceof Uint8Array ? decodeChunks(row.chunks) : undefined;
  }

  /** Records the destination chunks of a source content key. */
  put(key: Uint8Array, chunks: readonly ChunkRef[]): void {
    this.#put.run(key, encodeChunks(chunks));
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
    if (this.#removeDir !== undefined) rmSync(this.#removeDir, { recursive: true, force: true });
  }
}
