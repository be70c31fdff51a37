/** Options, progress reports and results of `restore`. */
import type { EntryPath, EntryType } from '@kloset/connector-contract';
import type { SnapshotHeader } from '../snapshot/header.ts';

/**
 * What a restore does with entries whose place in the destination is taken (overwrite.ts):
 * `always` writes every entry (the default, as restic and tar); `if-changed` skips a file or
 * symlink that already holds exactly the snapshot's content; `never` never replaces anything.
 */
export type OverwriteMode = 'always' | 'if-changed' | 'never';

/** Why an entry was not written: its place held the same content, or held something (`never`). */
export type SkipReason = 'identical' | 'exists';

export interface RestoreOptions {
  /**
   * The path of the snapshot to restore (default `/`). A directory is restored as the destination's
   * root `/`; a file or symlink is restored as `/<its name>` (after its parent directory's
   * attributes are written to `/`).
   */
  readonly path?: EntryPath;
  /**
   * Sub-trees left out: an entry at one of these snapshot paths, or below one, is not restored
   * (nor counted), unless `path` itself is that sub-tree or inside it. E.g. the `/%%versions`
   * directory of an S3 snapshot taken with `versions=all` (docs/FORMAT.md §8.4).
   */
  readonly leaveOut?: readonly EntryPath[];
  /**
   * Restore the snapshot's keys as they were at an instant, from the versions tree of a snapshot
   * taken with the S3 source's `versions=all` (docs/FORMAT.md §8.4) instead of the plain tree:
   * `path` is then a path of the plain tree (`/`, a folder or a key) and `leaveOut` is not used.
   */
  readonly versionsAt?: VersionsAt;
  /**
   * Restore every version of every key, oldest first, from the versions tree of a snapshot taken
   * with the S3 source's `versions=all` (docs/FORMAT.md §8.4, all-versions.ts) into a destination
   * that keeps versions (Destination.keepsVersions): each object version written at its key's
   * plain path as `versionsAt` writes it, each delete marker as a `remove` of that path; the
   * versions of one key one after the other, each once the one before has resolved. `path` is a
   * path of the plain tree; `leaveOut` and `versionsAt` are not used; `overwrite` must be `always`.
   */
  readonly allVersions?: VersionsTree;
  /** Writes in flight at most (default and maximum: the destination's `concurrency`). */
  readonly concurrency?: number;
  /**
   * Content bytes of large files read ahead of the destination, at most (default 4 MiB per write
   * in flight, from 32 to 64 MiB).
   */
  readonly maxBytesInFlight?: number;
  /** Bytes of consecutive chunks of a large file fetched together (coalesced reads, default 8 MiB). */
  readonly readWindowBytes?: number;
  /**
   * Small files (up to 4 MiB, or `readWindowBytes` if less) are fetched in batches of consecutive
   * entries of about this many bytes with one coalesced read plan (default 8 MiB, 16 MiB for
   * destinations writing more than 8 entries at once); two batches are in memory at most.
   */
  readonly batchBytes?: number;
  /**
   * What to do with entries whose place is taken (default `always`). `if-changed` and `never` need
   * a destination that can tell what it holds (Destination.stat and readExisting): restore
   * rejects before writing anything when it cannot.
   */
  readonly overwrite?: OverwriteMode;
  /**
   * Decide and report every entry, but write nothing (no write, no finish) and fetch no content:
   * the summary counts what would be restored and skipped.
   */
  readonly dryRun?: boolean;
  /** Called for every entry once written (or failed, or skipped). */
  readonly onEntry?: (result: RestoreEntryResult) => void;
  /** Called for every entry that could not be restored. */
  readonly onEntryError?: (result: RestoreEntryResult & { readonly error: string }) => void;
  /** Called with progress about every `progressIntervalMs` (default 250) and once at the end. */
  readonly onProgress?: (progress: RestoreProgress) => void;
  readonly progressIntervalMs?: number;
  /** Stops the restore: no new writes start, content streams throw, the abort reason is thrown. */
  readonly signal?: AbortSignal;
}

/**
 * How `restore` reads a versions tree (docs/FORMAT.md §8.4, versions-tree.ts). A key's directory
 * holds its versions newest first; each has `s3.last-modified` (ISO 8601) in its `meta`, a delete
 * marker also `s3.delete-marker: true`. The names are the connector's: the two functions tell them.
 */
export interface VersionsTree {
  /** The versions tree's root directory (`/%%versions`). */
  readonly root: EntryPath;
  /**
   * The name a key's version directory (named in its file-twin form) is restored as; undefined
   * for a name that is not a key's directory (a folder's).
   */
  readonly keyName: (dirName: string) => string | undefined;
  /** The versions tree's directory of the key at `path` of the plain tree; undefined if none can be. */
  readonly keyDir: (path: EntryPath) => EntryPath | undefined;
}

/** A versions tree read at an instant (versions-at.ts). */
export interface VersionsAt extends VersionsTree {
  /** The instant (Unix ms): each key is restored as its newest version last modified at or before it. */
  readonly time: number;
}

/** What happened to one entry. */
export interface RestoreEntryResult {
  /** The entry's path in the snapshot. */
  readonly path: EntryPath;
  /** The path given to the destination. */
  readonly target: EntryPath;
  readonly type: EntryType;
  readonly ok: boolean;
  /** One line: why the entry was not restored. */
  readonly error?: string;
  /** The content was missing or corrupt in the store (the destination kept nothing of it). */
  readonly corrupt?: boolean;
  /** Content bytes written (files). */
  readonly bytes: number;
  /** Set when the entry was not written (`ok` is true): why. */
  readonly skipped?: SkipReason;
  /** Whether something existed at its place before (undefined when not looked at: `always`). */
  readonly existed?: boolean;
  /** A delete marker restored (`allVersions`): what was at `target` was removed, nothing written. */
  readonly removed?: boolean;
}

export interface RestoreProgress {
  readonly entries: number;
  readonly files: number;
  readonly bytes: number;
  /** Entries and content bytes to restore in all. */
  readonly totalEntries: number;
  readonly totalBytes: number;
  readonly failed: number;
  readonly elapsedMs: number;
  readonly bytesPerSecond: number;
  readonly done: boolean;
}

export interface RestoreSummary {
  /** Entries handled (written or failed), skipped ones not included. In a dry run: would be. */
  readonly entries: number;
  readonly files: number;
  readonly directories: number;
  readonly symlinks: number;
  /** Content bytes restored. */
  readonly bytes: number;
  /** Entries not restored: write failures, corrupt or missing content, entries backed up with an error. */
  readonly failed: number;
  /** Of the failed entries, files whose content was missing or corrupt in the store. */
  readonly corrupt: number;
  /** Entries not written because of the overwrite mode, in all and by reason. */
  readonly skipped: number;
  readonly skippedIdentical: number;
  readonly skippedExisting: number;
  /**
   * Of the entries written, those that replaced something that existed at their place; undefined
   * with `always`, which does not look.
   */
  readonly replaced: number | undefined;
  /**
   * With `allVersions`: the object versions written (the files counted in `files`) and the delete
   * markers written (removes, counted in `entries` but not in `files`). Unset otherwise.
   */
  readonly versions?: number;
  readonly deleteMarkers?: number;
  /** The restore was a dry run: nothing was written. */
  readonly dryRun: boolean;
}

export interface RestoreResult {
  readonly snapshot: SnapshotHeader;
  /** The snapshot path restored. */
  readonly path: EntryPath;
  readonly summary: RestoreSummary;
  /** The first failures (at most 1,000; `summary.failed` counts them all). */
  readonly failures: readonly RestoreEntryResult[];
}
