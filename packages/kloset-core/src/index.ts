/**
 * @kloset/core: the store engine. The public API, as used by the CLI:
 *
 * - stores: `Repository.create` / `Repository.open` (keys, index, packfiles, sealed resources, locks);
 * - `backup(repo, source, options)` -> a snapshot;
 * - `restore(repo, snapshot, destination, options)`;
 * - `check(repo, options)`;
 * - `maintenance(repo, options)`: deletes unreferenced packfiles after a grace period;
 * - `repair(repo, options)`: heals a damaged store (lost or corrupt states, packfiles, blobs);
 * - `syncSnapshots(src, dst, options)`: copies snapshots between stores with different keys;
 * - snapshots: `listSnapshots`, `resolveSnapshot` (`latest` or an id prefix), `selectSnapshots`
 *   (references and filters), `listPath` (ls), `snapshotInfo` / `storeContents` (info),
 *   `removeSnapshots` (rm), `prune` (retention policies), `readFile` (cat), `diffSnapshots` (diff),
 *   `TreeReader`;
 * - the errors callers branch on.
 */

// Backup.
export { backup } from './backup/backup.ts';
export type {
  BackupEntryError,
  BackupEntryWarning,
  BackupOptions,
  BackupProgress,
  BackupResult,
  ContentChunker,
} from './backup/backup-options.ts';
export {
  type DryRunEntry,
  type DryRunOptions,
  type DryRunResult,
  dryRunBackup,
} from './backup/dry-run.ts';
export { filteredSource } from './backup/filtered-source.ts';
export { compileGlob, type Glob, PatternError } from './backup/glob.ts';
export type { PathFilterPatterns } from './backup/path-filter.ts';
export { type ScanAheadOptions, ScanTally, scanAhead, scanTallyOf } from './backup/scan-ahead.ts';
// Check.
export { check } from './check/check.ts';
export type {
  CheckOptions,
  CheckProblem,
  CheckProblemKind,
  CheckProgress,
  CheckResult,
} from './check/check-options.ts';
export { type CheckStoreResult, checkStore } from './check/check-store.ts';
export { type ChunkingParams, DEFAULT_CHUNKING } from './chunking/fastcdc.ts';
export type { CompressionMode } from './crypto/compression.ts';
export { CorruptDataError, PassphraseRequiredError, WrongPassphraseError } from './crypto/errors.ts';
export type { KdfCost, KdfParams } from './crypto/kdf.ts';
export { DEFAULT_KDF_COST } from './crypto/kdf.ts';
export { nobleCryptoProvider } from './crypto/noble-provider.ts';
export { nodeCryptoProvider } from './crypto/node-provider.ts';
export type { CryptoProvider } from './crypto/provider.ts';
export {
  type CreateStoreOptions,
  DEFAULT_PACKFILE_SIZE,
  type EncryptionConfig,
  type StoreConfig,
  StoreConfigError,
} from './format/config.ts';
export { PassphraseChangeError, type RewrapOptions, rewrapStoreConfig } from './format/rewrap-config.ts';
// Maintenance.
export { maintenance } from './maintenance/maintenance.ts';
export {
  DEFAULT_GRACE_MS,
  DEFAULT_REPACK_PERCENT,
  MAX_LISTED_PACKFILES,
  type MaintenanceOptions,
  type MaintenanceProgress,
  MaintenanceRefusedError,
  type MaintenanceRepository,
  type MaintenanceResult,
} from './maintenance/maintenance-options.ts';
// Repair.
export { repair } from './repair/repair.ts';
export {
  DATA_LOST_ERROR,
  MAX_REPAIR_REPORTS,
  REPAIRED_TAG,
  type RepairLoss,
  type RepairNote,
  type RepairOptions,
  type RepairProgress,
  type RepairResult,
} from './repair/repair-options.ts';
export type { BlobReadResult, ReadBlobsOptions } from './repository/blob-reader.ts';
export type { BlobId, BlobLocation, BlobStore, PutBlobResult } from './repository/blob-store.ts';
export { BlobKind } from './repository/blob-store.ts';
export { changePassphrase, type PassphraseChangeResult } from './repository/change-passphrase.ts';
export {
  CorruptBlobError,
  CorruptPackfileError,
  CorruptResourceError,
  MissingBlobError,
  RepositoryError,
  type RepositoryErrorCode,
} from './repository/errors.ts';
export {
  LOCK_REFRESH_INTERVAL_MS,
  LOCK_STALE_AFTER_MS,
  LockConflictError,
  type LockHandle,
  type LockInfo,
  type LockOptions,
  listLocks,
  type ReadLock,
  type RemovedLocks,
  type RemoveLocksOptions,
  readLocks,
  removeLocks,
  UnreadableLockError,
} from './repository/locks.ts';
// Stores.
export {
  type CreateRepositoryOptions,
  defaultCacheDir,
  type OpenRepositoryOptions,
  type PackfileInfo,
  type PackfileStatus,
  Repository,
  type RepositorySessionOptions,
} from './repository/repository.ts';
export type { ResourceStore, SealedKind } from './repository/resource-store.ts';
// Restore.
export { restore } from './restore/restore.ts';
export type {
  OverwriteMode,
  RestoreEntryResult,
  RestoreOptions,
  RestoreProgress,
  RestoreResult,
  RestoreSummary,
  SkipReason,
  VersionsAt,
  VersionsTree,
} from './restore/restore-options.ts';
export {
  changedFields,
  type DiffChange,
  type DiffField,
  type DiffSide,
  diffSnapshots,
} from './snapshot/diff.ts';
// Snapshots: ls, info, rm, trees.
export type { EngineRepository } from './snapshot/engine-repository.ts';
export type { ChunkRef, SnapshotEntry } from './snapshot/entry.ts';
export { compareKeys, compareUtf8, type EntryKey, entryKey, sortKey } from './snapshot/entry-key.ts';
export {
  AmbiguousLatestError,
  compareSnapshots,
  describeFilter,
  isEmptyFilter,
  matchesFilter,
  type Ordered,
  ofSource,
  type Selectable,
  type SnapshotFilter,
  type SourceFilter,
  type SourceGroup,
  selectSnapshots,
  sourcesOf,
} from './snapshot/filter.ts';
export type { SnapshotHeader, SnapshotSummary } from './snapshot/header.ts';
export { sameSource } from './snapshot/header.ts';
export { type SnapshotInfo, type StoreContents, snapshotInfo, storeContents } from './snapshot/info.ts';
export { type ListPathOptions, listPath, SnapshotPathNotFoundError } from './snapshot/list-path.ts';
export {
  EmptyRetentionPolicyError,
  type PruneGroup,
  type PruneGrouping,
  type PruneKept,
  type PruneOptions,
  type PruneResult,
  planPrune,
  prune,
} from './snapshot/prune.ts';
export {
  FileContentError,
  type FileContentFailure,
  findFile,
  type ReadFileOptions,
  readFile,
} from './snapshot/read-file.ts';
export { type RemoveOptions, removeSnapshots } from './snapshot/remove.ts';
export {
  applyRetention,
  isEmptyPolicy,
  RETENTION_RULES,
  type RetentionClock,
  type RetentionDecision,
  type RetentionPolicy,
  type RetentionRule,
} from './snapshot/retention.ts';
export {
  AmbiguousSnapshotError,
  latestSnapshotOf,
  listSnapshots,
  readSnapshot,
  readSnapshots,
  resolveSnapshot,
  SnapshotNotFoundError,
  type SnapshotReadResult,
  type SnapshotRef,
} from './snapshot/snapshots.ts';
export { type KeyedEntry, TreeReader, type TreeReaderOptions } from './snapshot/tree-reader.ts';
// Sync.
export { CONTENT_MAP_FILE } from './sync/content-map.ts';
export {
  SyncContentError,
  type SyncedSnapshot,
  type SyncOptions,
  type SyncProgress,
  type SyncResult,
  syncSnapshots,
} from './sync/sync.ts';
