/** Options, progress, problems and results of `check`. */
import type { SnapshotRef } from '../snapshot/snapshots.ts';

export interface CheckOptions {
  /**
   * Existence only: every blob the snapshots reference is in the index and its packfile is in
   * storage (tree nodes are still read, since they list the chunks). Default: full, every blob
   * referenced is read and verified, each packfile read once with coalesced ranged reads.
   */
  readonly fast?: boolean;
  /** The snapshots to check (references: `latest` or id prefixes). Default: all. */
  readonly snapshots?: readonly SnapshotRef[];
  /** Tree nodes read at once while walking (default 8). */
  readonly concurrency?: number;
  /** Blobs verified per coalesced batch (default 512). */
  readonly batchBlobs?: number;
  /** Memory for sorting blob references before spilling to temporary files (default 64 MiB). */
  readonly sortMemoryBytes?: number;
  readonly tempDir?: string;
  /** Called for every problem as it is found. */
  readonly onProblem?: (problem: CheckProblem) => void;
  /** Called with progress about every `progressIntervalMs` (default 250) and once at the end. */
  readonly onProgress?: (progress: CheckProgress) => void;
  readonly progressIntervalMs?: number;
  readonly signal?: AbortSignal;
}

/** What is wrong. */
export type CheckProblemKind =
  /** A state cannot be read or decoded: the index lacks the blobs it lists. */
  | 'unreadable-state'
  /** A packfile's size in storage differs from the size the states give (truncated, altered). */
  | 'packfile-size'
  /** A packfile's own index or footer cannot be read or fails verification. */
  | 'corrupt-packfile'
  /** A packfile's own index disagrees with what the states say it holds. */
  | 'index-mismatch'
  /** A snapshot header cannot be read or decoded. */
  | 'unreadable-snapshot'
  /** A tree node is missing or corrupt: the entries below it are unknown. */
  | 'unreadable-tree'
  /** A chunk a file references is not in the index. */
  | 'missing-blob'
  /** A chunk's packfile is not in storage. */
  | 'missing-packfile'
  /** A chunk fails verification (GCM tag, MAC) or cannot be read. */
  | 'corrupt-blob'
  /** A file's chunks do not add up to its size, or a chunk's length differs from the index. */
  | 'size-mismatch';

/** One problem, and the snapshot and file it affects (one report per affected file). */
export interface CheckProblem {
  readonly kind: CheckProblemKind;
  /** One line naming what is wrong (blob, packfile, snapshot, path). */
  readonly message: string;
  /** Hex id of the affected snapshot. */
  readonly snapshot?: string;
  /** The affected path in that snapshot (for a tree node: the first path below it, when known). */
  readonly path?: string;
  /** Hex id of the blob at fault. */
  readonly blob?: string;
  /** Hex id of the packfile at fault. */
  readonly packfile?: string;
}

export interface CheckProgress {
  readonly phase: 'packfiles' | 'trees' | 'blobs';
  readonly snapshots: number;
  /** Entries walked. */
  readonly entries: number;
  /** Blobs checked (tree nodes read, chunks located or verified). */
  readonly blobs: number;
  /** Bytes of chunks verified (full check). */
  readonly bytes: number;
  readonly problems: number;
  readonly elapsedMs: number;
  readonly done: boolean;
}

export interface CheckResult {
  /** No problem found. */
  readonly ok: boolean;
  readonly fast: boolean;
  readonly snapshots: number;
  readonly entries: number;
  /**
   * Blobs checked: tree nodes read, plus chunk references located (fast) or distinct chunks read
   * and verified (full).
   */
  readonly blobs: number;
  /** Bytes of chunks read and verified (0 for a fast check). */
  readonly bytes: number;
  /** Problems found (one per affected file, at most 1,000 reports per blob). */
  readonly problems: number;
  /** The first problems (at most 1,000). */
  readonly reports: readonly CheckProblem[];
  /**
   * Packfiles in storage that no state lists: left by interrupted backups (maintenance removes
   * them), or by a lost state (`repair` indexes them again). Not a problem by itself.
   */
  readonly unindexedPackfiles: number;
  /** Packfiles whose own index and footer were read and compared with the states (full check). */
  readonly packIndexesRead: number;
}
