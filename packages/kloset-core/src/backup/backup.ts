/**
 * The backup engine: Source -> (reuse | open -> chunk -> putBlob) -> entries -> external sort ->
 * B+tree -> flush -> snapshot header, under a shared lock.
 *
 * Memory is bounded whatever the number or size of entries: files in flight are bounded
 * (`fileConcurrency`, else the source's `concurrency`; of them, at most 8 files larger than the
 * chunker's minimum chunk, each of which holds up to a maximum chunk while it is cut), files waiting
 * for a slot are bounded (LANE_CAPACITY records in two lanes, small and large), chunk bytes
 * handed to the repository but not yet stored are bounded (`maxBytesInFlight`), entries wait in
 * the external sorter (spilled to disk beyond `sortMemoryBytes`), and the tree builder holds one
 * node per level.
 */
import { hostname as osHostname, userInfo } from 'node:os';
import {
  isValidPath,
  type ScanContext,
  Semaphore,
  type Source,
  type SourceRecord,
} from '@kloset/connector-contract';
import { chunkStream } from '../chunking/fastcdc.ts';
import { toHex } from '../encoding/bytes.ts';
import { acquireLock } from '../repository/locks.ts';
import type { EngineRepository } from '../snapshot/engine-repository.ts';
import type { SnapshotEntry } from '../snapshot/entry.ts';
import { decodeEntry, encodeEntry } from '../snapshot/entry-codec.ts';
import { decodeSortKey, keyPath, sortKey, TYPE_RANK } from '../snapshot/entry-key.ts';
import { ExternalSorter } from '../snapshot/external-sorter.ts';
import type { SnapshotHeader } from '../snapshot/header.ts';
import { latestSnapshotOf, writeSnapshot } from '../snapshot/snapshots.ts';
import { TreeBuilder } from '../snapshot/tree-builder.ts';
import { errorMessage, TreeReader } from '../snapshot/tree-reader.ts';
import type { BackupEntryError, BackupOptions, BackupResult, ContentChunker } from './backup-options.ts';
import { EntryWarnings, storeFileContent } from './file-content.ts';
import { FileScheduler } from './file-scheduler.ts';
import { BackupCounters, startProgress } from './progress.ts';
import { canReuse, previousEntry, recordEntry } from './record-entry.ts';
import { scanTallyOf } from './scan-ahead.ts';
import { SharedContents, type SharedResult } from './shared-contents.ts';

const MAX_REPORTED_ERRORS = 1000;
/** Files read at once when neither the options nor the source say. */
const DEFAULT_FILE_CONCURRENCY = 8;
/**
 * Files waiting for a slot at most (file-lanes.ts): a few hundred bytes a record, ~1.5 KB with a
 * bucket object's metadata (~12 MB). 1,024 -> 8,192 (tools/bench/README.md, 3 alternating pairs):
 * the 1.4 GiB mixed data set (`local.sh 1`) peak RSS 549-569 -> 517-524 MB and wall 5.5-5.8 ->
 * 5.2-5.3 s; 100,000 tiny files and a 100,000-object bucket the same (230-253 / 229-240 MB,
 * 247 / 242 MB).
 */
const LANE_CAPACITY = 8192;

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? '';
  }
}

/**
 * Backs up `source` into `repo` and writes a snapshot. Per-entry failures (unreadable) are
 * recorded in the entry and the summary and the backup goes on (a file that changed while it was
 * read, twice, is kept as read, with a warning: file-content.ts); a failure of the
 * source's scan or of the repository fails the backup, which then commits nothing (packfiles
 * already uploaded are left for maintenance, FORMAT.md §10).
 */
export async function backup(
  repo: EngineRepository,
  source: Source,
  options: BackupOptions = {},
): Promise<BackupResult> {
  options.signal?.throwIfAborted();
  const startTime = Date.now();
  const counters = new BackupCounters(scanTallyOf(source));
  const errors: BackupEntryError[] = [];
  const warnings = new EntryWarnings();
  const recordError = (path: string, error: string) => {
    counters.errors++;
    if (errors.length < MAX_REPORTED_ERRORS) errors.push({ path, error });
  };
  const internal = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, internal.signal]) : internal.signal;
  const sorter = new ExternalSorter({
    ...(options.sortMemoryBytes !== undefined ? { memoryBytes: options.sortMemoryBytes } : {}),
    ...(options.tempDir !== undefined ? { tempDir: options.tempDir } : {}),
  });
  const lock = await acquireLock(repo, { exclusive: false, ...options.lock });
  const progress = startProgress(counters, options.onProgress, options.progressIntervalMs ?? 250);
  let succeeded = false;
  try {
    // Packfiles the index lists but the store lost leave the index first, so that nothing below
    // reuses or deduplicates against them: their data is read from the source and stored again.
    const [missingPackfiles, parent] = await Promise.all([
      repo.dropMissingPackfiles?.() ?? [],
      options.parent === undefined ? latestSnapshotOf(repo, source.info) : options.parent,
    ]);
    const parentTree = parent
      ? new TreeReader(repo, parent.root, {
          cacheNodes: 64,
          label: `parent snapshot ${toHex(parent.id).slice(0, 8)}`,
        })
      : undefined;
    // A parent whose tree cannot be read (a damaged store) is given up at the first failure: the
    // files are read again instead of failing the backup.
    let parentUnusable: string | undefined;
    const previousFile = async (path: string): Promise<SnapshotEntry | undefined> => {
      if (parentTree === undefined || parentUnusable !== undefined) return undefined;
      try {
        return await parentTree.get(path, 'file');
      } catch (err) {
        signal.throwIfAborted();
        parentUnusable ??= errorMessage(err);
        return undefined;
      }
    };
    // The source may look up the parent's entries (e.g. to skip re-reading S3 headers and tags).
    const scanContext: ScanContext = parentTree
      ? {
          previous: async (path) => (isValidPath(path) ? previousEntry(await previousFile(path)) : undefined),
        }
      : {};
    // A parent written through this index, with no blob gone from it since: its chunks are all
    // indexed, no lookup per chunk (unchanged re-backup of 8,442 entries: ~10k index lookups,
    // ~0.2 s of this thread). Any other parent's chunks are looked up one by one (FORMAT.md 8.3).
    const parentChunksPresent = parent
      ? parentTree !== undefined && repo.snapshotBlobsIndexed?.(parent.id) === true
      : false;
    const chunker: ContentChunker =
      options.chunker ?? ((content) => chunkStream(content, repo.config.chunking, repo.keyRing.gear));
    const fileSlots = options.fileConcurrency ?? source.concurrency ?? DEFAULT_FILE_CONCURRENCY;
    const largeFile = (record: SourceRecord): boolean => record.size > repo.config.chunking.min;
    const budget = new Semaphore(options.maxBytesInFlight ?? 64 * 1024 * 1024);
    let fatal: { error: unknown } | undefined;
    let contentBytes = 0;

    const addEntry = (e: SnapshotEntry): Promise<void> => sorter.add(sortKey(e.path, e.type), encodeEntry(e));
    const failed = (err: unknown): void => {
      if (fatal === undefined) {
        fatal = { error: err };
        internal.abort(err);
      }
    };

    // Records with the same content (SourceRecord.sharedContent): the first of a pair is stored
    // (or reused) and leaves its result in `shared`; the second takes that result.
    const shared = new SharedContents();
    const seconds = new Set<Promise<void>>();
    const storeSecond = async (record: SourceRecord, first: Promise<SharedResult>): Promise<void> => {
      try {
        const r = await first;
        if ('error' in r) {
          recordError(record.path, r.error);
          await addEntry(recordEntry(record, undefined, r.error));
          return;
        }
        counters.bytes += r.size;
        contentBytes += r.size;
        const metadata =
          record.metadataOnOpen === true ? record.sharedContent?.metadata(r.metadata) : undefined;
        await addEntry(
          recordEntry(
            record,
            { chunks: r.chunks, size: r.size, ...(metadata ? { metadata } : {}) },
            undefined,
          ),
        );
      } catch (err) {
        failed(err);
      }
    };
    /** True when `record` is the second of a pair whose first is remembered: it is then stored from it. */
    const tookFirst = (record: SourceRecord): boolean => {
      const first = shared.takeFirst(record);
      if (first === undefined) return false;
      const p = storeSecond(record, first);
      seconds.add(p);
      void p.finally(() => seconds.delete(p));
      return true;
    };

    const storeFile = async (record: SourceRecord): Promise<void> => {
      let sharedResult: SharedResult = { error: 'the backup stopped before it was read' };
      try {
        counters.filesRead++;
        const res = await storeFileContent(
          repo,
          record,
          chunker,
          budget,
          (n) => {
            counters.readBytes += n;
            counters.bytes += n;
          },
          { signal, ...(options.chunker === undefined ? { oneChunkMax: repo.config.chunking.min } : {}) },
        );
        counters.storedBytes += res.storedBytes;
        counters.newBlobs += res.newBlobs;
        if (res.ok) {
          sharedResult = { chunks: res.chunks, size: res.size, metadata: res.metadata ?? record.metadata };
          contentBytes += res.size;
          if (res.warning !== undefined) warnings.add(record.path, res.warning);
          await addEntry(recordEntry(record, res, undefined));
        } else {
          sharedResult = { error: res.error };
          recordError(record.path, res.error);
          await addEntry(recordEntry(record, undefined, res.error));
        }
      } catch (err) {
        failed(err);
      } finally {
        shared.settle(record, sharedResult);
        counters.filesInFlight--;
      }
    };

    // Files wait in two lanes (small, large) so that runs of each kind overlap (file-lanes.ts); a
    // file larger than the minimum chunk holds up to a maximum chunk of content while the chunker
    // looks for a cut: however many files the source asks to read at once, at most 8 such files.
    const files = new FileScheduler({
      slots: fileSlots,
      largeSlots: Math.min(fileSlots, DEFAULT_FILE_CONCURRENCY),
      capacity: LANE_CAPACITY,
      run: (record) => {
        counters.filesInFlight++;
        return storeFile(record);
      },
      stopped: () => fatal !== undefined || signal.aborted,
    });

    try {
      for await (const record of source.scan(signal, scanContext)) {
        if (fatal !== undefined) break;
        if (!isValidPath(record.path)) {
          recordError(String(record.path), 'invalid entry path from the source: skipped');
          continue;
        }
        counters.entries++;
        if (record.type === 'directory') counters.directories++;
        else if (record.type === 'symlink') counters.symlinks++;
        else counters.files++;
        if (record.error !== undefined) {
          recordError(record.path, record.error);
          await addEntry(recordEntry(record, undefined, record.error));
          continue;
        }
        if (record.type !== 'file') {
          await addEntry(recordEntry(record, undefined, undefined));
          continue;
        }
        const previous = record.metadataOnOpen !== true ? await previousFile(record.path) : undefined;
        if (previous !== undefined && canReuse(record, previous, repo, parentChunksPresent)) {
          counters.reusedFiles++;
          counters.bytes += previous.size;
          contentBytes += previous.size;
          await addEntry(recordEntry(record, { chunks: previous.chunks, size: previous.size }, undefined));
          shared.reused(record, previous.chunks, previous.size);
          continue;
        }
        if (tookFirst(record)) continue;
        shared.reading(record);
        files.push(record, largeFile(record));
        await files.untilNotFull();
        if (fatal !== undefined) break;
        signal.throwIfAborted();
      }
    } catch (err) {
      await files.drain();
      throw fatal !== undefined ? fatal.error : err;
    }
    await files.drain();
    // Every first of a pair has run (or, the backup stopping, never will): its second is stored from it.
    shared.abandon('not read: the backup stopped');
    await Promise.all(seconds);
    if (fatal !== undefined) throw fatal.error;
    // Files still queued are not started once the backup is aborted.
    signal.throwIfAborted();

    counters.finishing = true;
    const builder = new TreeBuilder(repo, options.tree);
    let previousKey: Buffer | undefined;
    let n = 0;
    for await (const { key, value } of sorter.sorted()) {
      if (previousKey?.equals(key)) {
        const dup = decodeSortKey(key);
        const dropped = decodeEntry(value);
        if (dropped.type === 'file' && dropped.error === undefined) contentBytes -= dropped.size;
        if (dropped.error !== undefined) counters.errors--; // counted again below
        if (dup.rank === TYPE_RANK.file) counters.files--;
        else if (dup.rank === TYPE_RANK.symlink) counters.symlinks--;
        else counters.directories--;
        recordError(keyPath(dup), 'the source yielded this entry twice: second one dropped');
        continue;
      }
      previousKey = key;
      await builder.addEncoded(key, value);
      if (++n % 4096 === 0) options.signal?.throwIfAborted();
    }
    const tree = await builder.finish();
    counters.storedBytes += tree.storedBytes;
    counters.newBlobs += tree.newBlobs;
    await repo.flush();
    options.signal?.throwIfAborted();

    const header: SnapshotHeader = {
      id: repo.newResourceId(),
      time: startTime,
      durationMs: Date.now() - startTime,
      name: options.name ?? source.info.root,
      tags: [...(options.tags ?? [])],
      hostname: options.hostname ?? osHostname(),
      username: options.username ?? currentUser(),
      source: { protocol: source.info.protocol, origin: source.info.origin, root: source.info.root },
      root: tree.root,
      summary: {
        files: counters.files,
        directories: counters.directories,
        symlinks: counters.symlinks,
        errors: counters.errors,
        bytes: contentBytes,
        storedBytes: counters.storedBytes,
        newBlobs: counters.newBlobs,
        reusedEntries: counters.reusedFiles,
      },
      ...(parent ? { parent: parent.id } : {}),
    };
    await writeSnapshot(repo, header);
    repo.recordSnapshotIndexed?.(header.id);
    succeeded = true;
    return {
      header,
      id: toHex(header.id),
      errors,
      warnings: warnings.list,
      warningCount: warnings.count,
      tree: { entries: tree.entries, nodes: tree.nodes, height: tree.height },
      filesRead: counters.filesRead,
      missingPackfiles,
      ...(parentUnusable === undefined ? {} : { parentUnusable }),
    };
  } catch (err) {
    if (options.signal?.aborted) throw options.signal.reason;
    throw new Error(`backup of ${source.info.protocol}:${source.info.root} failed: ${errorMessage(err)}`, {
      cause: err,
    });
  } finally {
    progress.stop(succeeded);
    await sorter.close();
    await lock.release().catch(() => undefined);
  }
}
