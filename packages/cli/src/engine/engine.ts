/**
 * The seam between the CLI and kloset-core: what the commands need from a store, in the CLI's
 * terms (ids as hex strings, times as Unix milliseconds). core-engine.ts implements it over
 * @kloset/core; tests may implement it in memory. Commands never import the core directly.
 */
import type {
  Destination,
  EntryType,
  RetentionUpkeep,
  Source,
  Storage,
  Timestamp,
} from '@kloset/connector-contract';

export interface SnapshotSummaryCounts {
  readonly files: number;
  readonly directories: number;
  readonly symlinks: number;
  /** Entries that could not be backed up. */
  readonly errors: number;
  /** Bytes of file content in the snapshot. */
  readonly bytes: number;
  /** Bytes this backup added to the store (after dedup, compression, encryption). */
  readonly storedBytes: number;
}

export interface SnapshotView {
  /** 64 hex digits. */
  readonly id: string;
  /** Unix ms when the backup started. */
  readonly time: number;
  readonly durationMs: number;
  readonly name: string;
  readonly tags: readonly string[];
  readonly hostname: string;
  readonly username: string;
  readonly source: SourceInfoView;
  readonly summary: SnapshotSummaryCounts;
}

export interface EntryView {
  readonly path: string;
  readonly type: EntryType;
  readonly size: number;
  readonly mtime: Timestamp;
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly linkTarget?: string;
  readonly error?: string;
  /** The connector's attributes (`s3.content-type`, `s3.tag.<key>`...), as the source recorded them. */
  readonly metadata: Readonly<Record<string, string>>;
}

export interface StoreView {
  /** 64 hex digits. */
  readonly storeId: string;
  readonly encrypted: boolean;
  /** Unix ms. */
  readonly created: number;
  readonly version: number;
  readonly compression: string;
  readonly packfileSize: number;
  readonly chunking: { readonly min: number; readonly avg: number; readonly max: number };
}

export interface ProgressEvent {
  readonly entries: number;
  readonly bytes: number;
  readonly totalEntries?: number;
  readonly totalBytes?: number;
  /**
   * While the totals are not known yet: the entries and bytes found so far by a scan that runs
   * ahead (backup), a lower bound of the totals.
   */
  readonly scannedEntries?: number;
  readonly scannedBytes?: number;
  readonly errors?: number;
}

/** One entry that failed (backup could not read it, restore could not write it). */
export interface EntryFailure {
  readonly path: string;
  readonly error: string;
}

/** One entry stored with a warning (backup: its content changed while it was read, twice). */
export interface EntryWarning {
  readonly path: string;
  readonly warning: string;
}

export interface BackupRequest {
  /** What is backed up, for messages: `@NAME (LOCATION)` or the location. */
  readonly source: string;
  readonly name?: string;
  readonly tags: readonly string[];
  readonly signal: AbortSignal;
  onProgress(event: ProgressEvent): void;
  onFailure(failure: EntryFailure): void;
  /** Entries stored with a warning (the first 1,000) and how many there were, once at the end. */
  onWarnings?(warnings: readonly EntryWarning[], count: number): void;
  /**
   * Damage of the store the backup found and worked around (packfiles gone from storage whose
   * data it stored again, a parent snapshot it could not read), one line each.
   */
  onStoreDamage?(lines: readonly string[]): void;
}

/** A backup filter pattern and where it was given, for errors (`-exclude`, `-exclude-file F line 3`). */
export interface FilterPattern {
  readonly pattern: string;
  readonly from: string;
}

export interface BackupFilters {
  readonly exclude: readonly FilterPattern[];
  readonly include: readonly FilterPattern[];
}

export interface DryRunRequest {
  /** What is walked, for messages: `@NAME (LOCATION)` or the location. */
  readonly source: string;
  readonly signal: AbortSignal;
  /** Each entry a backup would hold; `unchanged`: a file it would reuse without reading it. */
  onEntry?(entry: {
    readonly path: string;
    readonly type: EntryType;
    readonly size: number;
    readonly unchanged: boolean;
  }): void | Promise<void>;
}

/** What `backup -dry-run` found: what a backup would hold, and what it would reuse. */
export interface DryRunOutcome extends Omit<SnapshotSummaryCounts, 'storedBytes'> {
  readonly entries: number;
  readonly unchangedFiles: number;
  readonly unchangedBytes: number;
  /** Id of the previous snapshot compared with, if any. */
  readonly parent?: string;
}

/** How the versions tree of an S3 snapshot taken with versions=all is read (docs/FORMAT.md §8.4). */
export interface VersionsTreeRef {
  /** The versions tree's root, `/%%versions`. */
  readonly root: string;
  /** The plain-tree name of a key's versions directory; undefined for a folder's. */
  readonly keyName: (dirName: string) => string | undefined;
  /** The versions directory of the key at a plain-tree path. */
  readonly keyDir: (path: string) => string | undefined;
}

export interface RestoreRequest {
  /** Where to, for messages: `@NAME (LOCATION)` or the location. */
  readonly destination: string;
  readonly snapshotId: string;
  /** The path inside the snapshot to restore, `/` for all. */
  readonly path: string;
  /** Sub-trees of the snapshot not restored (unless `path` is in one): `/%%versions` of S3 snapshots. */
  readonly leaveOut?: readonly string[];
  /**
   * Restore the keys as they were at an instant from the versions tree of an S3 snapshot taken
   * with versions=all (docs/FORMAT.md §8.4; core RestoreOptions.versionsAt): `path` is a path of
   * the plain tree, `leaveOut` is not used.
   */
  readonly versionsAt?: VersionsTreeRef & {
    /** Unix ms. */
    readonly time: number;
  };
  /**
   * Restore every version of every key, oldest first, from the versions tree of an S3 snapshot
   * taken with versions=all into a destination that keeps versions (core
   * RestoreOptions.allVersions): `path` is a path of the plain tree; `overwrite` must be always.
   */
  readonly allVersions?: VersionsTreeRef;
  /** What to do with entries whose place is taken: always (replace), if-changed, never. */
  readonly overwrite: 'always' | 'if-changed' | 'never';
  /** Decide and count, write nothing. */
  readonly dryRun: boolean;
  readonly signal: AbortSignal;
  onProgress(event: ProgressEvent): void;
  onFailure(failure: EntryFailure): void;
}

export interface RestoreOutcome {
  /** Entries written (or, in a dry run, that would be) and failed; skipped ones not included. */
  readonly entries: number;
  readonly bytes: number;
  readonly failures: number;
  /** Entries refused because their content failed verification (a subset of failures). */
  readonly corrupt: number;
  /** Entries not written because of the overwrite mode, in all and by reason. */
  readonly skipped: number;
  readonly skippedIdentical: number;
  readonly skippedExisting: number;
  /** Entries written over something that existed (undefined with `always`, which does not look). */
  readonly replaced: number | undefined;
  /** With allVersions: object versions and delete markers written (or that would be). */
  readonly versions?: number | undefined;
  readonly deleteMarkers?: number | undefined;
}

/** A problem found by check: which snapshot and file it hurts, and what is wrong. */
export interface CheckProblem {
  readonly snapshotId?: string;
  /** The affected entry path, when known. */
  readonly path?: string;
  /** `missing` (a blob or packfile is gone) or `corrupt` (fails verification), `error` otherwise. */
  readonly kind: 'missing' | 'corrupt' | 'error';
  readonly message: string;
}

export interface CheckRequest {
  /** Snapshots to check; all of them when empty. */
  readonly snapshotIds: readonly string[];
  readonly fast: boolean;
  readonly signal: AbortSignal;
  onProgress(event: ProgressEvent): void;
  onProblem(problem: CheckProblem): void;
}

export interface CheckOutcome {
  readonly snapshots: number;
  readonly entries: number;
  readonly blobs: number;
  readonly problems: number;
  /** Why the local index cache was found wrong and rebuilt from the store (not a store problem). */
  readonly cacheRebuilt?: string;
  /** Packfiles in storage that no state lists (interrupted backups, or a lost state). */
  readonly unindexedPackfiles: number;
  /** Packfiles whose own index and footer were read and compared with the states. */
  readonly packIndexesRead: number;
}

/** A snapshot's source: same protocol, origin and root is the same source. */
export interface SourceInfoView {
  readonly protocol: string;
  readonly origin: string;
  readonly root: string;
}

/** `-source`: the snapshots whose source is `info`, or (a named source) whose name is `name`. */
export interface SourceFilterView {
  /** As typed: `@www`, `/var/www`, `s3://host/bucket`. */
  readonly label: string;
  readonly info: SourceInfoView;
  /** `@NAME` for a named source. */
  readonly name?: string;
}

/** Snapshot filters (see args/snapshot-selection.ts); times in Unix ms. */
export interface SnapshotFilterView {
  /** Every one of these tags. */
  readonly tags: readonly string[];
  readonly name?: string;
  readonly source?: SourceFilterView;
  readonly since?: number;
  readonly before?: number;
}

/** Snapshots chosen by references (`latest`, id prefixes) among those matching a filter. */
export interface SnapshotSelection {
  /** Empty: every matching snapshot. */
  readonly refs: readonly string[];
  readonly filter: SnapshotFilterView;
  /** A header that cannot be read or authenticated (hex id, reason): left out of the result. */
  readonly onUnreadable?: (id: string, reason: string) => void;
}

/** One difference between two snapshots (or paths of them). */
export interface DiffChangeView {
  readonly change: 'added' | 'removed' | 'changed';
  /** In the second snapshot, or in the first for `removed`. */
  readonly path: string;
  /** What changed (`changed` only): content, mode, mtime, owner, link, metadata, error. */
  readonly fields: readonly string[];
  readonly before?: EntryView;
  readonly after?: EntryView;
}

/** One side of a diff. */
export interface DiffSideRequest {
  readonly snapshotId: string;
  readonly path: string;
}

/** How many snapshots each retention rule keeps. */
export interface RetentionPolicyView {
  readonly last?: number;
  readonly hourly?: number;
  readonly daily?: number;
  readonly weekly?: number;
  readonly monthly?: number;
  readonly yearly?: number;
}

export interface PruneRequest {
  readonly policy: RetentionPolicyView;
  readonly filter: SnapshotFilterView;
  /** `source`: the policy applies per source (protocol, origin, root); `none`: to all together. */
  readonly groupBy: 'source' | 'none';
  readonly dryRun: boolean;
  /** A header that cannot be read (it is kept). */
  onUnreadable(id: string, error: string): void;
}

export interface PruneGroupView {
  readonly source?: SnapshotView['source'];
  /** Newest first, with the rules that keep each. */
  readonly keep: readonly { readonly snapshot: SnapshotView; readonly reasons: readonly string[] }[];
  readonly remove: readonly SnapshotView[];
}

export interface PruneOutcome {
  readonly dryRun: boolean;
  readonly groups: readonly PruneGroupView[];
  readonly kept: number;
  readonly removed: number;
}

export interface MaintenanceRequest {
  /** Packfiles younger than this are kept. */
  readonly graceMs: number;
  /** Partly used packfiles at least this many percent unused are repacked (100: never). */
  readonly repackPercent: number;
  readonly dryRun: boolean;
  readonly signal: AbortSignal;
  onProgress(event: ProgressEvent): void;
}

export interface MaintenanceOutcome {
  readonly dryRun: boolean;
  readonly snapshots: number;
  readonly packfiles: number;
  readonly packfileBytes: number;
  readonly deleted: number;
  readonly deletedBytes: number;
  /** Deletions an earlier run recorded but did not finish (part of `deleted`). */
  readonly unfinished: number;
  readonly keptRecent: number;
  readonly keptRecentBytes: number;
  readonly keptUnknownAge: number;
  readonly partial: number;
  readonly reclaimableBytes: number;
  /** Partly used packfiles repacked (among the deleted), and the live bytes copied out of them. */
  readonly repacked: number;
  readonly repackedBytes: number;
  /** Leftovers of interrupted writes (temporary files, incomplete uploads) removed, and their bytes. */
  readonly leftovers: number;
  readonly leftoverBytes: number;
  /** A store with Object Lock: deleted objects reclaimed or kept under retention, retentions extended. */
  readonly retention?: RetentionUpkeep;
  /** Hex ids of the deleted packfiles (the first 1000). */
  readonly deletedIds: readonly string[];
}

export interface RepairRequest {
  /** Report, write nothing. */
  readonly dryRun: boolean;
  /** Read each packfile's own index only, not its blobs (corrupt blobs are not looked for). */
  readonly fast: boolean;
  readonly signal: AbortSignal;
  onProgress(event: ProgressEvent): void;
  /** A finding about the store itself (a corrupt state, a lost packfile...), one line. */
  onNote(message: string): void;
  /** Snapshot data that is gone: a file, the entries under a tree node, or a whole snapshot. */
  onLoss(loss: RepairLossView): void;
}

export interface RepairLossView {
  readonly kind: 'file' | 'entries' | 'snapshot';
  readonly snapshotId: string;
  readonly path?: string;
  readonly message: string;
}

export interface RepairOutcome {
  readonly dryRun: boolean;
  readonly fast: boolean;
  readonly states: number;
  readonly corruptStates: number;
  readonly statesWritten: number;
  readonly packfiles: number;
  readonly packfilesIndexed: number;
  readonly packfilesMissing: number;
  readonly packfilesDeleted: number;
  readonly packfilesLost: number;
  readonly blobsSalvaged: number;
  readonly blobsLost: number;
  readonly snapshots: number;
  readonly snapshotsRepaired: number;
  readonly snapshotsRemoved: number;
  readonly filesLost: number;
  readonly entriesDropped: number;
  /** Some snapshot data is lost (files, entries or whole snapshots). */
  readonly dataLost: boolean;
  /** Repaired snapshots: old id -> new id (new is empty for a dry run). */
  readonly repaired: readonly { readonly from: string; readonly to: string }[];
}

/** One snapshot of a sync. */
export interface SyncedView {
  readonly id: string;
  readonly status: 'copied' | 'present';
  readonly storedBytes: number;
  readonly readBytes: number;
  /** Files mapped from an earlier copy of the same content, without reading them. */
  readonly mappedFiles: number;
}

export interface SyncRequest {
  /** Snapshots of the source to copy (hex ids). */
  readonly snapshotIds: readonly string[];
  readonly signal: AbortSignal;
  onProgress(event: ProgressEvent): void;
  onSnapshot(snapshot: SyncedView): void;
}

export interface SyncOutcome {
  readonly copied: number;
  readonly present: number;
  readonly storedBytes: number;
  readonly snapshots: readonly SyncedView[];
}

export interface OpenStore {
  readonly view: StoreView;
  /**
   * Damage the store showed while it was opened (states that cannot be read, so the data they
   * index is unavailable), one line each, for the command to print as warnings.
   */
  readonly damage: readonly string[];
  /** Things about this client's local cache to say once (a damaged cache set aside and rebuilt). */
  readonly notices: readonly string[];
  /** Every snapshot header, oldest first. */
  snapshots(): Promise<SnapshotView[]>;
  /**
   * The snapshots a selection names: without refs, every match, oldest first; with refs, one per
   * ref. Throws a one-line CliError when a ref names nothing or several snapshots, and
   * AmbiguousLatestError when `latest` is among matches of several sources.
   */
  select(selection: SnapshotSelection): Promise<SnapshotView[]>;
  /** The verified content of the file at `path` (an IntegrityError when missing or corrupt). */
  cat(snapshotId: string, path: string, signal: AbortSignal): AsyncIterable<Uint8Array>;
  /** The differences from `a` to `b`, in tree order. */
  diff(a: DiffSideRequest, b: DiffSideRequest): AsyncIterable<DiffChangeView>;
  /** Applies a retention policy (exclusive lock unless dryRun). */
  prune(request: PruneRequest): Promise<PruneOutcome>;
  /** Deletes unreferenced packfiles past the grace period (exclusive lock unless dryRun). */
  maintenance(request: MaintenanceRequest): Promise<MaintenanceOutcome>;
  /** Heals a damaged store (exclusive lock unless dryRun). */
  repair(request: RepairRequest): Promise<RepairOutcome>;
  /** Copies snapshots of this store into `destination`, opened by the same engine. */
  syncTo(destination: OpenStore, request: SyncRequest): Promise<SyncOutcome>;
  snapshot(id: string): Promise<SnapshotView>;
  backup(source: Source, request: BackupRequest): Promise<SnapshotView>;
  /** What `backup` of `source` would hold; writes nothing to the store (and takes no lock). */
  dryRunBackup(source: Source, request: DryRunRequest): Promise<DryRunOutcome>;
  /** The entry at `path` and, for a directory, its children (`recursive`: the whole sub-tree), in key order. */
  entries(snapshotId: string, path: string, recursive: boolean): AsyncIterable<EntryView>;
  restore(destination: Destination, request: RestoreRequest): Promise<RestoreOutcome>;
  check(request: CheckRequest): Promise<CheckOutcome>;
  remove(snapshotIds: readonly string[]): Promise<void>;
  /**
   * `unlock`: removes stale, orphaned and unreadable locks (FORMAT §9), and live ones with `all`.
   * Optional: engines without locks leave it out.
   */
  unlock?(request: { readonly all: boolean }): Promise<UnlockOutcome>;
  /**
   * `passphrase change`: wraps the store's key under `newPassphrase` (exclusive lock; only the
   * config is replaced, atomically). Optional: engines without passphrases leave it out.
   */
  changePassphrase?(newPassphrase: string): Promise<PassphraseChangeOutcome>;
  /** `stats`: what the store holds, from the storage's listings and the index (streamed, counted). */
  storeStats?(): Promise<StoreStatsView>;
  close(): Promise<void>;
}

/** What a store holds (see `stats`): counts and bytes of its resources, and its indexed blobs. */
export interface StoreStatsView {
  /** Packfiles in storage (indexed or not) and the sum of their sizes. */
  readonly packfiles: number;
  readonly packfileBytes: number;
  readonly states: number;
  readonly stateBytes: number;
  /** Snapshot headers in storage (readable or not) and the sum of their sizes. */
  readonly snapshotHeaders: number;
  readonly snapshotHeaderBytes: number;
  /** Blobs the index lists in packfiles not deleted (one stored in two packfiles counts twice). */
  readonly blobs: number;
}

/** What `passphrase change` did: the Argon2id cost of the new wrapping. */
export interface PassphraseChangeOutcome {
  readonly kdf: { readonly memoryKiB: number; readonly passes: number; readonly parallelism: number };
}

/** What `unlock` did: the locks removed (hex id, why) and the live ones kept. */
export interface UnlockOutcome {
  readonly removed: readonly { readonly id: string; readonly why: string }[];
  readonly kept: readonly { readonly id: string; readonly hostname: string; readonly pid: number }[];
}

export interface CreateRequest {
  /** Undefined for a plaintext store. */
  readonly passphrase: string | undefined;
  readonly cacheDir: string;
}

export interface OpenRequest {
  /** Asked only if the store is encrypted. */
  passphrase(): Promise<string>;
  readonly cacheDir: string;
  /** Read-only opens (ls, info, check, restore) never write to the store. */
  readonly readOnly: boolean;
}

export interface Engine {
  /**
   * Starts scanning `source` now, a bounded number of records ahead, so that the walk overlaps
   * the opening of the store (key derivation); the backup takes the scan where it got to.
   * `close()` of the result stops the scan and closes `source`.
   */
  scanAhead(source: Source, signal: AbortSignal | undefined): Source;
  /**
   * `source` without the entries the filters drop (the rules: `backup --help`), or `source`
   * itself when there are none. A pattern that is not a valid glob is a UsageError naming it and
   * where it was given.
   */
  filterSource(source: Source, filters: BackupFilters): Source;
  /** Does not close `storage`: the caller does. */
  create(storage: Storage, request: CreateRequest): Promise<StoreView>;
  /** Takes ownership of `storage`: OpenStore.close() closes it (and so does a failed open). */
  open(storage: Storage, request: OpenRequest): Promise<OpenStore>;
}
