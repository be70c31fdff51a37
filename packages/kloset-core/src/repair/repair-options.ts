/** Options, progress, findings and results of `repair`. */

/** Why a file of a kept snapshot has no content any more (the `error` of its repaired entry). */
export const DATA_LOST_ERROR = 'data lost in the store (kloset repair)';

/** The tag every repaired snapshot gets. */
export const REPAIRED_TAG = 'repaired';

export interface RepairOptions {
  /** Find and report, write nothing (takes no lock). */
  readonly dryRun?: boolean;
  /**
   * Read each packfile's own index only, not its blobs: corrupt blobs are not looked for (step 4 of
   * the module comment is skipped). Default: every packfile read whole and every blob verified.
   */
  readonly fast?: boolean;
  /** Packfiles read at once (default 2). */
  readonly concurrency?: number;
  /** Tree nodes read at once while walking snapshots (default 8). */
  readonly treeConcurrency?: number;
  readonly signal?: AbortSignal;
  /** Called for each finding about the store itself (a corrupt state, a lost packfile...). */
  readonly onNote?: (note: RepairNote) => void;
  /** Called for each snapshot file (or part of a tree, or whole snapshot) whose data is lost. */
  readonly onLoss?: (loss: RepairLoss) => void;
  readonly onProgress?: (progress: RepairProgress) => void;
  /** Lock behaviour overrides (tests). */
  readonly lock?: { readonly staleAfterMs?: number; readonly refreshIntervalMs?: number };
}

/** A finding about the store's states and packfiles, one line. */
export interface RepairNote {
  readonly kind:
    | 'corrupt-state'
    | 'unlisted-packfile'
    | 'missing-packfile'
    | 'unreadable-packfile'
    | 'corrupt-blobs';
  /** Hex id of the state or packfile. */
  readonly id: string;
  readonly message: string;
}

/** Data of a snapshot that is gone. */
export interface RepairLoss {
  /**
   * `file`: a file whose content is lost (kept, with an error and no content); `entries`: the
   * entries under a tree node that cannot be read (dropped; `path` is the first of them);
   * `snapshot`: a whole snapshot removed (its header, or its root tree node, cannot be read).
   */
  readonly kind: 'file' | 'entries' | 'snapshot';
  /** Hex id of the snapshot (the one that was damaged). */
  readonly snapshot: string;
  readonly path?: string;
  readonly message: string;
}

export interface RepairProgress {
  readonly phase: 'states' | 'packfiles' | 'snapshots';
  /** States read, packfiles read, or snapshots walked. */
  readonly done: number;
}

/** Findings and losses listed in the result at most (the counts are exact). */
export const MAX_REPAIR_REPORTS = 1000;

export interface RepairResult {
  readonly dryRun: boolean;
  readonly fast: boolean;
  /** States in the store, and those that cannot be read (removed, with dryRun: to be). */
  readonly states: number;
  readonly corruptStates: number;
  /** States written: listings of packfiles, of salvaged blobs, and deletions. */
  readonly statesWritten: number;
  /** Packfiles in the store, and their bytes. */
  readonly packfiles: number;
  readonly packfileBytes: number;
  /** Packfiles no readable state listed (fully), listed again from their own index. */
  readonly packfilesIndexed: number;
  /** Packfiles the states list that are gone from storage (recorded as deleted). */
  readonly packfilesMissing: number;
  /** Packfiles deleted: own index unreadable, or holding corrupt blobs (their good blobs stored again first). */
  readonly packfilesDeleted: number;
  /** Of those, packfiles whose own index does not open and that no readable state lists: all their blobs are lost. */
  readonly packfilesLost: number;
  /** Blobs read from damaged packfiles and stored again, and blobs that failed verification. */
  readonly blobsSalvaged: number;
  readonly blobsLost: number;
  /** Snapshot headers read. */
  readonly snapshots: number;
  /** Snapshots replaced by a repaired one, and removed (header or root tree unreadable). */
  readonly snapshotsRepaired: number;
  readonly snapshotsRemoved: number;
  /** Files kept without their content, and entries dropped under unreadable tree nodes. */
  readonly filesLost: number;
  readonly entriesDropped: number;
  /** Some snapshot data is lost (files, entries or snapshots). */
  readonly dataLost: boolean;
  /** The first MAX_REPAIR_REPORTS findings and losses. */
  readonly notes: readonly RepairNote[];
  readonly losses: readonly RepairLoss[];
  /** Ids (hex) of the repaired snapshots, old -> new (with dryRun: new is empty). */
  readonly repaired: readonly { readonly from: string; readonly to: string }[];
}
