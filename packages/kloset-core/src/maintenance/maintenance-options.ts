/** Options, progress, results and errors of `maintenance`, and what it needs of a repository. */

import type { RetentionUpkeep, Storage } from '@kloset/connector-contract';
import type { BlobReadResult, ReadBlobsOptions } from '../repository/blob-reader.ts';
import type { BlobId, BlobKind, BlobLocation, BlobStore, PutBlobResult } from '../repository/blob-store.ts';
import type { PackfileInfo, PackfileStatus } from '../repository/repository.ts';
import type { ResourceStore } from '../repository/resource-store.ts';

/** The default grace period: packfiles younger than this are never deleted. */
export const DEFAULT_GRACE_MS = 24 * 60 * 60 * 1000;

/** Packfiles at least this much unused (percent of their bytes) are repacked by default. */
export const DEFAULT_REPACK_PERCENT = 50;

/** What maintenance needs of a repository (Repository implements it). */
export interface MaintenanceRepository extends ResourceStore, Pick<BlobStore, 'getBlob' | 'flush'> {
  /** Brings the index up to date; `unreadableCount` counts states that could not be read. */
  refreshIndex(): Promise<{ readonly unreadableCount?: number }>;
  getBlobs(kind: BlobKind, ids: readonly BlobId[], options?: ReadBlobsOptions): AsyncIterable<BlobReadResult>;
  /** Stores a blob in a new packfile even if the index has it elsewhere. */
  rewriteBlob(kind: BlobKind, data: Uint8Array): Promise<PutBlobResult>;
  listPackfiles(): AsyncIterable<PackfileInfo>;
  indexedPackfiles(): Iterable<Uint8Array>;
  indexedBlobs(packId: Uint8Array): readonly BlobLocation[];
  packfileStatus(packId: Uint8Array): PackfileStatus | undefined;
  writeDeletions(packIds: readonly Uint8Array[]): Promise<number>;
  deletePackfile(packId: Uint8Array): Promise<void>;
  /** The storage, for its `removeLeftovers` (when it has one). */
  readonly storage?: Pick<Storage, 'removeLeftovers'>;
}

export interface MaintenanceOptions {
  /** Packfiles younger than this are kept (default 24 h). */
  readonly graceMs?: number;
  /** Decide and report, change nothing (takes no lock). */
  readonly dryRun?: boolean;
  /**
   * Partly used packfiles with at least this percentage of unused bytes are repacked (their live
   * blobs copied into new packfiles, then they are deleted); default 50. 100 never repacks.
   */
  readonly repackPercent?: number;
  /** Clock (Unix ms), default Date.now. */
  readonly now?: () => number;
  /** Tree nodes read at once while marking (default 8). */
  readonly concurrency?: number;
  /** Packfile deletions at once (default 8). */
  readonly deleteConcurrency?: number;
  /** Where the scratch database goes (default: the OS temporary directory). */
  readonly tempDir?: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: MaintenanceProgress) => void;
  /** Lock behaviour overrides (tests). */
  readonly lock?: { readonly staleAfterMs?: number; readonly refreshIntervalMs?: number };
}

export interface MaintenanceProgress {
  readonly phase: 'mark' | 'sweep' | 'repack' | 'delete';
  readonly snapshots: number;
  /** Tree nodes read (mark), packfiles looked at (sweep), repacked (repack) or deleted (delete). */
  readonly done: number;
}

/** At most this many deleted packfile ids are listed in the result (the counts are exact). */
export const MAX_LISTED_PACKFILES = 1000;

export interface MaintenanceResult {
  readonly dryRun: boolean;
  readonly graceMs: number;
  readonly snapshots: number;
  /** Distinct tree nodes and chunks the snapshots reference. */
  readonly treeNodes: number;
  readonly chunks: number;
  /** Packfiles in storage, and their bytes. */
  readonly packfiles: number;
  readonly packfileBytes: number;
  /** Packfiles deleted (with dryRun: that would be), and their bytes. */
  readonly deleted: number;
  readonly deletedBytes: number;
  /** Of those, deletions an earlier run recorded but did not finish. */
  readonly unfinished: number;
  /** Unreferenced packfiles kept because they are younger than the grace period. */
  readonly keptRecent: number;
  readonly keptRecentBytes: number;
  /** Packfiles no state lists, kept because the storage gives no time for them. */
  readonly keptUnknownAge: number;
  /** Packfiles partly referenced and kept, and the unreferenced bytes inside them. */
  readonly partial: number;
  readonly reclaimableBytes: number;
  /**
   * Packfiles partly referenced and repacked (with dryRun: that would be; they are among the
   * deleted), and the bytes of live blobs copied out of them into new packfiles.
   */
  readonly repacked: number;
  readonly repackedBytes: number;
  /** Deletion states written. */
  readonly states: number;
  /**
   * Leftovers of interrupted writes (temporary files, incomplete multipart uploads) older than
   * the grace period, removed by the storage, and their bytes. 0 with dryRun (not looked for) and
   * for storages that leave none.
   */
  readonly leftovers: number;
  readonly leftoverBytes: number;
  /** The upkeep of a store with Object Lock (its storage's removeLeftovers), if it has one. */
  readonly retention?: RetentionUpkeep;
  /** Hex ids of the deleted packfiles (the first MAX_LISTED_PACKFILES). */
  readonly deletedIds: readonly string[];
}

/** Maintenance cannot know what the snapshots reference: nothing is deleted. */
export class MaintenanceRefusedError extends Error {
  override readonly name = 'MaintenanceRefusedError';
}
