/** Options, progress reports and results of `backup`. */
import type { SnapshotHeader } from '../snapshot/header.ts';
import type { TreeBuilderOptions } from '../snapshot/tree-builder.ts';

/** Cuts a file's content into chunks (the store's FastCDC by default; tests may pass a stub). */
export type ContentChunker = (content: AsyncIterable<Uint8Array>) => AsyncIterable<Uint8Array>;

export interface BackupOptions {
  /** Snapshot name (default: the source root). */
  readonly name?: string;
  readonly tags?: readonly string[];
  /** Default: the machine's host name. */
  readonly hostname?: string;
  /** Default: the current user's name. */
  readonly username?: string;
  /**
   * The snapshot to reuse unchanged files from. Default: the latest snapshot of the same source
   * (same protocol, origin and root). `null`: reuse nothing (read every file). The source can look
   * up the parent's file entries during the scan (`ScanContext.previous`).
   */
  readonly parent?: SnapshotHeader | null;
  /**
   * Files read at once (default: the source's `concurrency`, else 8); of them, at most 8 larger than
   * the minimum chunk.
   */
  readonly fileConcurrency?: number;
  /** Chunk bytes handed to the repository and not yet stored, at most (default 64 MiB). */
  readonly maxBytesInFlight?: number;
  /** Memory for sorting entries before spilling to temporary files (default 64 MiB). */
  readonly sortMemoryBytes?: number;
  /** Where temporary sort files go (default: the OS temporary directory). */
  readonly tempDir?: string;
  /** Tree node size limits (tests force small nodes). */
  readonly tree?: TreeBuilderOptions;
  /** Chunker override (tests). */
  readonly chunker?: ContentChunker;
  /** Called with progress about every `progressIntervalMs` (default 250) and once at the end. */
  readonly onProgress?: (progress: BackupProgress) => void;
  readonly progressIntervalMs?: number;
  /** Aborts the backup: nothing is committed, the lock is released, the abort reason is thrown. */
  readonly signal?: AbortSignal;
  /** Lock behaviour overrides (tests). */
  readonly lock?: { readonly staleAfterMs?: number; readonly refreshIntervalMs?: number };
}

/** A progress report. Counters only grow. */
export interface BackupProgress {
  /** Entries seen so far (files, directories, symlinks, failed entries). */
  readonly entries: number;
  readonly files: number;
  readonly directories: number;
  readonly symlinks: number;
  readonly errors: number;
  /** Content bytes of the files done so far (read or reused). */
  readonly bytes: number;
  /** Content bytes actually read from the source. */
  readonly readBytes: number;
  /** Files whose content was reused without reading. */
  readonly reusedFiles: number;
  /** Bytes added to the store. */
  readonly storedBytes: number;
  readonly newBlobs: number;
  readonly elapsedMs: number;
  /** `bytes` per second since the start. */
  readonly bytesPerSecond: number;
  /** Files being read right now. */
  readonly filesInFlight: number;
  /** The backup is in its last phase: building the tree, flushing, writing the header. */
  readonly finishing: boolean;
  /** Last report. */
  readonly done: boolean;
  /**
   * What the scan of a `scanAhead` source has found so far (undefined for any other source): its
   * entries and the sizes of its files; once `done` (the scan has ended), the backup's totals.
   */
  readonly scanned?: { readonly entries: number; readonly bytes: number; readonly done: boolean };
}

/** One entry that could not be backed up (it is recorded in the snapshot with its error). */
export interface BackupEntryError {
  readonly path: string;
  readonly error: string;
}

/**
 * One entry backed up with a warning: its content is in the snapshot, but may not be what the
 * source held at any one moment (it changed while it was read, twice).
 */
export interface BackupEntryWarning {
  readonly path: string;
  readonly warning: string;
}

export interface BackupResult {
  /** The snapshot written. */
  readonly header: SnapshotHeader;
  /** Hex id of the snapshot. */
  readonly id: string;
  /** The first entry errors (at most 1,000; `header.summary.errors` counts them all). */
  readonly errors: readonly BackupEntryError[];
  /** The first entry warnings (at most 1,000), and how many there were. */
  readonly warnings: readonly BackupEntryWarning[];
  readonly warningCount: number;
  /** Tree statistics. */
  readonly tree: { readonly entries: number; readonly nodes: number; readonly height: number };
  /** Files whose content was read (opened). */
  readonly filesRead: number;
  /**
   * Packfiles (hex ids) the index listed but the store no longer has (a damaged store): their
   * blobs left the index before the backup, which stored the affected data again.
   */
  readonly missingPackfiles: readonly string[];
  /**
   * Why the parent snapshot could not be used to skip unchanged files (a tree node of it cannot
   * be read: every file was read again), if so.
   */
  readonly parentUnusable?: string;
}
