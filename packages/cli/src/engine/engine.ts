/**
 * The seam between the CLI and kloset-core: what the commands need from a store, in the CLI's
 * terms (ids as hex strings, times as Unix milliseconds). core-engine.ts implements it over
 * @kloset/core; tests may implement it in memory. Commands never import the core directly.
 */
import type { Destination, EntryType, Source, Storage, Timestamp } from '@kloset/connector-contract';

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
  readonly source: { readonly protocol: string; readonly origin: string; readonly root: string };
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
  readonly errors?: number;
}

/** One entry that failed (backup could not read it, restore could not write it). */
export interface EntryFailure {
  readonly path: string;
  readonly error: string;
}

export interface BackupRequest {
  readonly name?: string;
  readonly tags: readonly string[];
  readonly signal: AbortSignal;
  onProgress(event: ProgressEvent): void;
  onFailure(failure: EntryFailure): void;
}

export interface RestoreRequest {
  readonly snapshotId: string;
  /** The path inside the snapshot to restore, `/` for all. */
  readonly path: string;
  readonly signal: AbortSignal;
  onProgress(event: ProgressEvent): void;
  onFailure(failure: EntryFailure): void;
}

export interface RestoreOutcome {
  readonly entries: number;
  readonly bytes: number;
  readonly failures: number;
  /** Entries refused because their content failed verification (a subset of failures). */
  readonly corrupt: number;
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
}

export interface OpenStore {
  readonly view: StoreView;
  /** Every snapshot header, oldest first. */
  snapshots(): Promise<SnapshotView[]>;
  snapshot(id: string): Promise<SnapshotView>;
  backup(source: Source, request: BackupRequest): Promise<SnapshotView>;
  /** The entry at `path` and, for a directory, its children (`recursive`: the whole sub-tree), in key order. */
  entries(snapshotId: string, path: string, recursive: boolean): AsyncIterable<EntryView>;
  restore(destination: Destination, request: RestoreRequest): Promise<RestoreOutcome>;
  check(request: CheckRequest): Promise<CheckOutcome>;
  remove(snapshotIds: readonly string[]): Promise<void>;
  close(): Promise<void>;
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
  /** Does not close `storage`: the caller does. */
  create(storage: Storage, request: CreateRequest): Promise<StoreView>;
  /** Takes ownership of `storage`: OpenStore.close() closes it (and so does a failed open). */
  open(storage: Storage, request: OpenRequest): Promise<OpenStore>;
}
