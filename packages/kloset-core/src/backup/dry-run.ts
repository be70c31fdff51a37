/**
 * `backup -dry-run`: what a backup of `source` would hold, without writing anything to the store
 * (no lock, no packfile, no state, no snapshot). It walks the source (its filters applied by the
 * caller: filtered-source.ts) and reads no file's content: it counts the entries and the sizes the
 * source reports, and, against the previous snapshot of the same source (read only), the files a
 * backup would reuse without reading them (same size, mtime and change token, chunks still in the
 * store: record-entry.ts `canReuse`).
 */
import { isValidPath, type ScanContext, type Source, type SourceRecord } from '@kloset/connector-contract';
import { toHex } from '../encoding/bytes.ts';
import type { EngineRepository } from '../snapshot/engine-repository.ts';
import type { SnapshotHeader } from '../snapshot/header.ts';
import { latestSnapshotOf } from '../snapshot/snapshots.ts';
import { TreeReader } from '../snapshot/tree-reader.ts';
import type { BackupProgress } from './backup-options.ts';
import { canReuse, previousEntry } from './record-entry.ts';

export interface DryRunOptions {
  /** The snapshot to compare with (default: the latest of the same source; `null`: none). */
  readonly parent?: SnapshotHeader | null;
  readonly signal?: AbortSignal;
  /** Called for each entry a backup would hold, in the source's order; the walk waits for it. */
  readonly onEntry?: (entry: DryRunEntry) => void | Promise<void>;
}

export interface DryRunEntry {
  readonly record: SourceRecord;
  /** A file a backup would reuse from the previous snapshot without reading it. */
  readonly unchanged: boolean;
}

/**
 * The entries a backup would hold (`errors`: those the source cannot read, which a backup records
 * with their error) and `bytes`, the sizes of the files as the source lists them.
 */
export interface DryRunResult
  extends Pick<BackupProgress, 'entries' | 'files' | 'directories' | 'symlinks' | 'errors' | 'bytes'> {
  readonly unchangedFiles: number;
  readonly unchangedBytes: number;
  /** Hex id of the snapshot compared with, if any. */
  readonly parent?: string;
}

/** Walks `source` as `backup` would, and counts; reads only the previous snapshot's tree. */
export async function dryRunBackup(
  repo: EngineRepository,
  source: Source,
  options: DryRunOptions = {},
): Promise<DryRunResult> {
  const { signal } = options;
  signal?.throwIfAborted();
  const parent = options.parent === undefined ? await latestSnapshotOf(repo, source.info) : options.parent;
  const tree = parent ? new TreeReader(repo, parent.root, { cacheNodes: 64 }) : undefined;
  const chunksPresent = parent ? repo.snapshotBlobsIndexed?.(parent.id) === true : false;
  const context: ScanContext = tree
    ? {
        previous: async (path) =>
          isValidPath(path) ? previousEntry(await tree.get(path, 'file')) : undefined,
      }
    : {};
  const n = {
    entries: 0,
    files: 0,
    directories: 0,
    symlinks: 0,
    errors: 0,
    bytes: 0,
    unchangedFiles: 0,
    unchangedBytes: 0,
  };
  for await (const record of source.scan(signal, context)) {
    if (!isValidPath(record.path)) {
      n.errors++;
      continue;
    }
    n.entries++;
    let unchanged = false;
    if (record.error !== undefined) n.errors++;
    if (record.type === 'directory') n.directories++;
    else if (record.type === 'symlink') n.symlinks++;
    else {
      n.files++;
      if (record.error === undefined) {
        n.bytes += record.size;
        if (tree !== undefined && record.metadataOnOpen !== true) {
          unchanged = canReuse(record, await tree.get(record.path, 'file'), repo, chunksPresent);
        }
        if (unchanged) {
          n.unchangedFiles++;
          n.unchangedBytes += record.size;
        }
      }
    }
    await options.onEntry?.({ record, unchanged });
  }
  signal?.throwIfAborted();
  return { ...n, ...(parent ? { parent: toHex(parent.id) } : {}) };
}
