/**
 * What the backup engine tells a Source during a scan: a way to look up the previous snapshot of
 * the same source, so that a source whose listing is cheap but whose per-entry attributes are not
 * (S3: one HeadObject per object for its headers, metadata and tags) can skip reading the
 * attributes of entries its listing proves unchanged.
 */
import type { EntryAttributes, EntryPath } from './record.ts';

/** A file entry of the previous snapshot: its attributes and change token (never its content). */
export interface PreviousEntry extends EntryAttributes {
  readonly changeToken?: string;
}

/**
 * Optional help for `Source.scan`. Every member is optional and a source may ignore all of them.
 *
 * Rules for a source that uses `previous`:
 * - It may build a file's record from the previous entry (its `metadata`, `mode`...) only when what
 *   it learnt cheaply proves the file unchanged: the same `size`, `mtime` and `changeToken` as the
 *   record it would yield. It never takes `size`, `mtime` or `changeToken` from the previous entry,
 *   and the record must be what a scan without context would have yielded (complete: with the
 *   metadata its content brings, for a record with `metadataOnOpen`), except for attributes
 *   that can change without changing those three, which the source documents (S3: tags), with an
 *   option to read them anyway (S3: `refresh_metadata`).
 * - `open` of such a record still works: the engine opens it when the previous content cannot be
 *   reused (its chunks are gone from the store).
 * - `previous` may be called concurrently and in any order; lookups in path order are the cheapest
 *   (the engine reads the previous tree through a small node cache). When it rejects (the previous
 *   snapshot cannot be read) the scan fails with that error, as the backup would anyway.
 */
export interface ScanContext {
  /**
   * The entry of type `file` at `path` in the previous snapshot of this source (the backup's
   * parent, docs/FORMAT.md §8.3); undefined when there is no previous snapshot, no such file, or
   * it was recorded with an error.
   */
  previous?(path: EntryPath): Promise<PreviousEntry | undefined>;
  /**
   * A regular expression (the source of a JavaScript RegExp, flag `u`) that matches the path of
   * every directory the backup leaves out with everything under it (`backup -exclude`): the
   * engine drops the records of such a directory and of all under it whatever the source yields,
   * so a source may skip listing what is under a matching directory (it still yields the
   * directory itself, or not). A string, so that a walk in a worker thread can use it.
   */
  readonly excludedDirectories?: string;
}

/**
 * The PreviousEntry a record (or any entry with attributes) stands for: its attributes and change
 * token, without `open`, `error` or anything else. For tests and for sources keeping their own state.
 */
export function previousEntryOf(r: EntryAttributes & { readonly changeToken?: string }): PreviousEntry {
  return {
    path: r.path,
    type: r.type,
    size: r.size,
    mtime: r.mtime,
    metadata: r.metadata,
    ...(r.mode !== undefined ? { mode: r.mode } : {}),
    ...(r.uid !== undefined ? { uid: r.uid } : {}),
    ...(r.gid !== undefined ? { gid: r.gid } : {}),
    ...(r.linkTarget !== undefined ? { linkTarget: r.linkTarget } : {}),
    ...(r.changeToken !== undefined ? { changeToken: r.changeToken } : {}),
  };
}
