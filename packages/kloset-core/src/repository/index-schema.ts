/**
 * The SQL schema of the local index cache (see index-cache.ts). Bump SCHEMA_VERSION on any change:
 * a cache with another version is discarded and rebuilt from the store's states.
 */

/** Version of the cache layout; a mismatch makes the cache rebuild itself. */
export const SCHEMA_VERSION = 4;

/**
 * Persistent tables (the union of the states applied so far).
 *
 * - `meta`: key/value, holds `schema_version`, `store_id` and `blobs_gen` (the index's generation:
 *   8 bytes, big-endian, bumped by every transaction that inserts blobs). Small values only: a
 *   lookup in a WITHOUT ROWID table reads the whole record of every cell it compares with.
 * - `bloom_filter`: one row (id 1), the Bloom filter of the indexed blob ids as last saved, tagged
 *   with the generation it covers (blob-bloom.ts); stale when that is not `blobs_gen`.
 * - `states`: ids of the states applied, with the time they were applied (ms).
 * - `packfiles`: one row per packfile seen in a state, by a small integer handle, with its size when
 *   a state gave it and `time`, the newest `time` (Unix seconds) of the states listing it (the age
 *   maintenance's grace period is measured from); `deleted` is 1
 *   when a state lists it in `deleted_packfiles` (sticky, whatever the order states are applied in),
 *   2 when this client found it missing from storage although no state deleted it (a damaged
 *   store: its blobs are out of the index, so backups store them again; 0 again if it reappears).
 * - `snapshots_indexed`: snapshots written by a backup through this cache: every blob they
 *   reference was in the index then. Emptied whenever a blob leaves the index (a packfile deleted
 *   or missing, a corrupt blob dropped), so a listed snapshot's chunks are still all indexed.
 * - `blobs`: (id, kind, pack) -> location. A blob may sit in more than one packfile (two writers
 *   storing the same data concurrently); lookups take any copy whose packfile is not deleted.
 * - `blobs_new`: the same rows, recently indexed: a small level in front of `blobs` (as in an LSM
 *   tree). Inserts of random ids go here, where the pages they touch stay in SQLite's page cache;
 *   past a bound its rows move into `blobs` in one sweep in id order (each page of `blobs` written
 *   once per sweep, not once per state). Every lookup, scan and delete covers both tables; a row
 *   may be in both (the same location) until the sweep drops the copy.
 */
export const PERSISTENT_SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS states (
  id BLOB PRIMARY KEY,
  applied_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS packfiles (
  pack INTEGER PRIMARY KEY,
  id BLOB NOT NULL UNIQUE,
  size INTEGER,
  time INTEGER,
  deleted INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS snapshots_indexed (
  id BLOB PRIMARY KEY
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bloom_filter (
  id INTEGER PRIMARY KEY,
  data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS blobs (
  id BLOB NOT NULL,
  kind INTEGER NOT NULL,
  pack INTEGER NOT NULL,
  offset INTEGER NOT NULL,
  length INTEGER NOT NULL,
  raw_length INTEGER NOT NULL,
  PRIMARY KEY (id, kind, pack)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS blobs_new (
  id BLOB NOT NULL,
  kind INTEGER NOT NULL,
  pack INTEGER NOT NULL,
  offset INTEGER NOT NULL,
  length INTEGER NOT NULL,
  raw_length INTEGER NOT NULL,
  PRIMARY KEY (id, kind, pack)
) WITHOUT ROWID;
`;

/**
 * Per-connection tables for the listings of the store. TEMP tables live in SQLite's temporary
 * store (on disk, paged), vanish with the connection, and are invisible to other processes sharing
 * the cache, so a crash leaves nothing behind. (This session's pending blobs are not here: the
 * index cache holds them in memory, see index-cache.ts.)
 *
 * - `listed_states`: state ids seen by the current listing of the store, and `states_before`: the
 *   states applied when that listing started (those not listed were removed from the store).
 * - `listed_packs`: packfile ids seen by the current listing of the store's packfiles.
 */
export const SESSION_SCHEMA = `
CREATE TEMP TABLE IF NOT EXISTS listed_states (
  id BLOB PRIMARY KEY
) WITHOUT ROWID;
CREATE TEMP TABLE IF NOT EXISTS states_before (
  id BLOB PRIMARY KEY
) WITHOUT ROWID;
CREATE TEMP TABLE IF NOT EXISTS listed_packs (
  id BLOB PRIMARY KEY
) WITHOUT ROWID;
`;
