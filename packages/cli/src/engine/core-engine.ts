/**
 * The Engine over @kloset/core: opens Repositories, runs the core's backup / restore / check /
 * rm engines, and turns core types (byte ids, headers, entries) into the CLI's views.
 * The core's errors are mapped to one-line CliErrors with the right exit code here, and only here.
 */

import type { Source, Storage } from '@kloset/connector-contract';
import * as core from '@kloset/core';
import { CliError, IntegrityError, UsageError, WrongPassphraseError } from '../errors.ts';
import { AmbiguousLatestError } from './ambiguous-latest.ts';
import type {
  BackupFilters,
  DiffChangeView,
  Engine,
  EntryView,
  FilterPattern,
  MaintenanceOutcome,
  OpenStore,
  ProgressEvent,
  PruneOutcome,
  SnapshotFilterView,
  SnapshotView,
  StoreStatsView,
  StoreView,
  SyncedView,
} from './engine.ts';

type Header = core.SnapshotHeader;
type Repo = core.Repository;

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function snapshotView(h: Header): SnapshotView {
  return {
    id: hex(h.id),
    time: h.time,
    durationMs: h.durationMs,
    name: h.name,
    tags: [...h.tags],
    hostname: h.hostname,
    username: h.username,
    source: { protocol: h.source.protocol, origin: h.source.origin, root: h.source.root },
    summary: {
      files: h.summary.files,
      directories: h.summary.directories,
      symlinks: h.summary.symlinks,
      errors: h.summary.errors,
      bytes: h.summary.bytes,
      storedBytes: h.summary.storedBytes,
    },
  };
}

function entryView(e: core.SnapshotEntry): EntryView {
  return {
    path: e.path,
    type: e.type,
    size: e.size,
    mtime: e.mtime,
    ...(e.mode !== undefined ? { mode: e.mode } : {}),
    ...(e.uid !== undefined ? { uid: e.uid } : {}),
    ...(e.gid !== undefined ? { gid: e.gid } : {}),
    ...(e.linkTarget !== undefined ? { linkTarget: e.linkTarget } : {}),
    ...(e.error !== undefined ? { error: e.error } : {}),
    metadata: e.metadata,
  };
}

function storeView(repo: Repo): StoreView {
  const c = repo.config;
  return {
    storeId: repo.storeId,
    encrypted: c.encryption !== null && c.encryption !== undefined,
    created: c.created * 1000,
    version: c.version,
    compression: c.compression,
    packfileSize: c.packfileSize,
    chunking: { min: c.chunking.min, avg: c.chunking.avg, max: c.chunking.max },
  };
}

/** True for errors that mean stored data is missing or fails verification. */
function isDataProblem(err: unknown): boolean {
  return err instanceof core.CorruptDataError || err instanceof core.MissingBlobError;
}

/** Core errors as one-line CLI errors. */
export function mapCoreError(err: unknown): unknown {
  if (err instanceof CliError) return err;
  if (err instanceof core.WrongPassphraseError) return new WrongPassphraseError(undefined, { cause: err });
  if (isDataProblem(err)) return new IntegrityError((err as Error).message, { cause: err });
  if (err instanceof core.FileContentError) {
    const data = err.failure === 'corrupt' || err.failure === 'missing';
    return data
      ? new IntegrityError(err.message, { cause: err })
      : new CliError(err.message, 1, { cause: err });
  }
  if (err instanceof core.SyncContentError && isDataProblem(err.cause)) {
    return new IntegrityError(err.message, { cause: err });
  }
  if (err instanceof core.MaintenanceRefusedError) return new IntegrityError(err.message, { cause: err });
  if (err instanceof core.PassphraseChangeError) return new CliError(err.message, 1, { cause: err });
  return err;
}

/** Why a header cannot be read, without the `snapshot ID` its message repeats. */
function unreadableReason(id: string, error: string): string {
  for (const prefix of [`corrupt snapshot ${id}: `, `snapshot ${id}: `]) {
    if (error.startsWith(prefix)) {
      const rest = error.slice(prefix.length);
      return prefix.startsWith('corrupt') ? `corrupt (${rest})` : rest;
    }
  }
  return error;
}

function coreFilter(f: SnapshotFilterView): core.SnapshotFilter {
  return {
    tags: f.tags,
    ...(f.name !== undefined ? { name: f.name } : {}),
    ...(f.source !== undefined ? { source: f.source } : {}),
    ...(f.since !== undefined ? { since: f.since } : {}),
    ...(f.before !== undefined ? { before: f.before } : {}),
  };
}

function diffView(c: core.DiffChange): DiffChangeView {
  switch (c.change) {
    case 'added':
      return { change: 'added', path: c.path, fields: [], after: entryView(c.after) };
    case 'removed':
      return { change: 'removed', path: c.path, fields: [], before: entryView(c.before) };
    case 'changed':
      return {
        change: 'changed',
        path: c.path,
        fields: c.fields,
        before: entryView(c.before),
        after: entryView(c.after),
      };
  }
}

function pruneView(r: core.PruneResult): PruneOutcome {
  return {
    dryRun: r.dryRun,
    kept: r.kept,
    removed: r.removed,
    groups: r.groups.map((g) => ({
      ...(g.source !== undefined ? { source: { ...g.source } } : {}),
      keep: g.keep.map((k) => ({ snapshot: snapshotView(k.header), reasons: k.reasons })),
      remove: g.remove.map(snapshotView),
    })),
  };
}

function maintenanceView(r: core.MaintenanceResult): MaintenanceOutcome {
  return {
    dryRun: r.dryRun,
    snapshots: r.snapshots,
    packfiles: r.packfiles,
    packfileBytes: r.packfileBytes,
    deleted: r.deleted,
    deletedBytes: r.deletedBytes,
    unfinished: r.unfinished,
    keptRecent: r.keptRecent,
    keptRecentBytes: r.keptRecentBytes,
    keptUnknownAge: r.keptUnknownAge,
    partial: r.partial,
    reclaimableBytes: r.reclaimableBytes,
    repacked: r.repacked,
    repackedBytes: r.repackedBytes,
    leftovers: r.leftovers,
    leftoverBytes: r.leftoverBytes,
    ...(r.retention !== undefined ? { retention: r.retention } : {}),
    deletedIds: r.deletedIds,
  };
}

function syncedView(x: core.SyncedSnapshot): SyncedView {
  const { id, status, storedBytes, readBytes, mappedFiles } = x;
  return { id, status, storedBytes, readBytes, mappedFiles };
}

/** How many resources of `kind` the storage of `repo` lists, and their bytes (streamed). */
async function resourceTotals(repo: Repo, kind: 'packfile' | 'state' | 'snapshot') {
  let count = 0;
  let bytes = 0;
  for await (const r of repo.storage.list(kind)) {
    count++;
    bytes += r.size;
  }
  return { count, bytes };
}

async function storeStats(repo: Repo): Promise<StoreStatsView> {
  const [packs, states, headers] = await Promise.all([
    resourceTotals(repo, 'packfile'),
    resourceTotals(repo, 'state'),
    resourceTotals(repo, 'snapshot'),
  ]);
  return {
    packfiles: packs.count,
    packfileBytes: packs.bytes,
    states: states.count,
    stateBytes: states.bytes,
    snapshotHeaders: headers.count,
    snapshotHeaderBytes: headers.bytes,
    blobs: repo.indexStats().blobs,
  };
}

/** The repository behind each store this engine opened (for sync, which needs two). */
const repositories = new WeakMap<OpenStore, Repo>();

async function mapped<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw mapCoreError(err);
  }
}

/**
 * Runs `fn`, and reports what it throws as `WHAT: message` (same exit code), unless it is
 * already a CLI error (wrong passphrase, integrity) or a cancellation. The core wraps backup
 * failures as `backup of PROTOCOL:ROOT failed: ...`, which names neither a named source nor
 * an S3 endpoint or bucket (`s3:/`): that wrapper is replaced by `what`.
 */
async function labelled<T>(what: string, signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
  try {
    return await mapped(fn);
  } catch (err) {
    if (err instanceof CliError || signal.aborted || !(err instanceof Error)) throw err;
    const inner = /^backup of \S* failed: /.test(err.message) && err.cause !== undefined ? err.cause : err;
    const message = inner instanceof Error ? inner.message : String(inner);
    throw new CliError(`${what}: ${message}`, 1, { cause: err });
  }
}

/** `passphrase`: the one that opened `repo` (undefined for a plaintext store). */
function openStore(repo: Repo, passphrase: string | undefined): OpenStore {
  const header = async (id: string): Promise<Header> => core.resolveSnapshot(repo, id);
  const unreadable = repo.unreadableStates.count;
  const setAside = repo.cacheSetAside;
  const store: OpenStore = {
    view: storeView(repo),
    notices:
      setAside === undefined
        ? []
        : [
            `the local index cache was damaged (${setAside.reason}): set aside as ${setAside.path} and rebuilt from the store; the store is not at fault`,
          ],
    damage:
      unreadable === 0
        ? []
        : [
            `${unreadable} state${unreadable === 1 ? '' : 's'} of the store cannot be read (first: ${repo.unreadableStates.states[0]?.id ?? '?'}): ` +
              "the data they index is unavailable; run 'kloset check', then 'kloset repair'",
          ],
    snapshots: () => mapped(async () => (await core.listSnapshots(repo)).map(snapshotView)),
    snapshot: (id) => mapped(async () => snapshotView(await header(id))),
    backup: (source, req) =>
      labelled(`backup of ${req.source}`, req.signal, async () => {
        const result = await core.backup(repo, source, {
          ...(req.name !== undefined ? { name: req.name } : {}),
          tags: req.tags,
          signal: req.signal,
          onProgress: (p) => req.onProgress(backupProgressEvent(p)),
        });
        for (const e of result.errors) req.onFailure(e);
        if (result.warningCount > 0) req.onWarnings?.(result.warnings, result.warningCount);
        const damage: string[] = [];
        const lost = result.missingPackfiles;
        if (lost.length > 0) {
          damage.push(
            `${lost.length} packfile${lost.length === 1 ? '' : 's'} of the store ${lost.length === 1 ? 'is' : 'are'} gone ` +
              `(first: ${lost[0]}): their data was read from the source and stored again; run 'kloset check', then 'kloset repair'`,
          );
        }
        if (result.parentUnusable !== undefined) {
          damage.push(
            `the previous snapshot cannot be read (${result.parentUnusable}): every file was read again; run 'kloset check'`,
          );
        }
        if (damage.length > 0) req.onStoreDamage?.(damage);
        return snapshotView(result.header);
      }),
    async dryRunBackup(source, req) {
      const onEntry = req.onEntry;
      // A failure of the caller's output (stdout closed: EPIPE) is its own, not the dry run's.
      let outputFailure: { error: unknown } | undefined;
      const report = async (e: core.DryRunEntry): Promise<void> => {
        try {
          await onEntry?.({
            path: e.record.path,
            type: e.record.type,
            size: e.record.size,
            unchanged: e.unchanged,
          });
        } catch (error) {
          outputFailure = { error };
          throw error;
        }
      };
      try {
        return await labelled(`backup -dry-run of ${req.source}`, req.signal, () =>
          core.dryRunBackup(repo, source, { signal: req.signal, ...(onEntry ? { onEntry: report } : {}) }),
        );
      } catch (err) {
        throw outputFailure === undefined ? err : outputFailure.error;
      }
    },
    async *entries(id, path, recursive) {
      try {
        const h = await header(id);
        const tree = new core.TreeReader(repo, h.root);
        const target = await tree.lookup(path);
        if (!target)
          throw new CliError(`${id.slice(0, 8)}:${path}: no such file or directory in the snapshot`);
        yield entryView(target);
        if (target.type !== 'directory') return;
        for await (const e of recursive ? tree.subtree(path) : tree.children(path)) yield entryView(e);
      } catch (err) {
        throw mapCoreError(err);
      }
    },
    restore: (destination, req) =>
      labelled(
        `restore of ${req.snapshotId.slice(0, 8)}:${req.path} to ${req.destination}`,
        req.signal,
        async () => {
          const h = await header(req.snapshotId);
          const r = await core.restore(repo, h, destination, {
            path: req.path,
            ...(req.leaveOut !== undefined ? { leaveOut: req.leaveOut } : {}),
            ...(req.versionsAt !== undefined ? { versionsAt: req.versionsAt } : {}),
            ...(req.allVersions !== undefined ? { allVersions: req.allVersions } : {}),
            overwrite: req.overwrite,
            dryRun: req.dryRun,
            signal: req.signal,
            onProgress: (p) =>
              req.onProgress({
                entries: p.entries,
                bytes: p.bytes,
                totalEntries: p.totalEntries,
                totalBytes: p.totalBytes,
                errors: p.failed,
              }),
            onEntryError: (e) => req.onFailure({ path: e.path, error: e.error }),
          });
          const t = r.summary;
          return {
            entries: t.entries,
            bytes: t.bytes,
            failures: t.failed,
            corrupt: t.corrupt,
            skipped: t.skipped,
            skippedIdentical: t.skippedIdentical,
            skippedExisting: t.skippedExisting,
            replaced: t.replaced,
            versions: t.versions,
            deleteMarkers: t.deleteMarkers,
          };
        },
      ),
    check: (req) =>
      mapped(async () => {
        const r = await core.checkStore(repo, {
          // No id given means every snapshot of the store.
          ...(req.snapshotIds.length > 0 ? { snapshots: req.snapshotIds } : {}),
          fast: req.fast,
          signal: req.signal,
          onProgress: (p) => req.onProgress({ entries: p.entries, bytes: p.bytes }),
          onProblem: (p) =>
            req.onProblem({
              kind: p.kind === 'missing-blob' || p.kind === 'missing-packfile' ? 'missing' : 'corrupt',
              message: p.message,
              ...(p.snapshot !== undefined ? { snapshotId: p.snapshot } : {}),
              ...(p.path !== undefined ? { path: p.path } : {}),
            }),
        });
        return {
          snapshots: r.snapshots,
          entries: r.entries,
          blobs: r.blobs,
          problems: r.problems,
          unindexedPackfiles: r.unindexedPackfiles,
          packIndexesRead: r.packIndexesRead,
          ...(r.cacheRebuilt === undefined ? {} : { cacheRebuilt: r.cacheRebuilt }),
        };
      }),
    storeStats: () => mapped(() => storeStats(repo)),
    changePassphrase: (newPassphrase) =>
      mapped(async () => {
        if (passphrase === undefined) {
          throw new CliError('passphrase change: this store is not encrypted: it has no passphrase');
        }
        return core.changePassphrase(repo, passphrase, newPassphrase);
      }),
    unlock: ({ all }) =>
      mapped(async () => {
        const r = await core.removeLocks(repo, { all });
        return {
          removed: r.removed,
          kept: r.kept.map(({ id, hostname, pid }) => ({ id, hostname, pid })),
        };
      }),
    // rm: headers only, under an exclusive lock (FORMAT §9); data is reclaimed by maintenance.
    remove: (ids) =>
      mapped(async () => {
        const lock = await repo.lock({ exclusive: true });
        try {
          for (const id of ids) await repo.deleteResource('snapshot', Buffer.from(id, 'hex'));
        } finally {
          await lock.release();
        }
      }),
    select: (sel) =>
      mapped(async () => {
        const onError = sel.onUnreadable;
        const all = await core.listSnapshots(
          repo,
          onError === undefined ? () => undefined : (id, error) => onError(id, unreadableReason(id, error)),
        );
        try {
          return core.selectSnapshots(all, sel.refs, coreFilter(sel.filter)).map(snapshotView);
        } catch (err) {
          if (!(err instanceof core.AmbiguousLatestError)) throw err;
          const sources = err.sources.map((g) => ({
            newest: snapshotView(g.newest as Header),
            count: g.count,
          }));
          throw new AmbiguousLatestError(err.message, sources);
        }
      }),
    async *cat(id, path, signal) {
      try {
        yield* core.readFile(repo, await header(id), path, { signal });
      } catch (err) {
        throw mapCoreError(err);
      }
    },
    async *diff(a, b) {
      try {
        const from = { header: await header(a.snapshotId), path: a.path };
        const to = { header: await header(b.snapshotId), path: b.path };
        for await (const c of core.diffSnapshots(repo, from, to)) yield diffView(c);
      } catch (err) {
        throw mapCoreError(err);
      }
    },
    prune: (req) =>
      mapped(async () =>
        pruneView(
          await core.prune(repo, {
            policy: req.policy,
            filter: coreFilter(req.filter),
            groupBy: req.groupBy,
            dryRun: req.dryRun,
            onUnreadable: (id, error) => req.onUnreadable(id, error),
          }),
        ),
      ),
    maintenance: (req) =>
      mapped(async () =>
        maintenanceView(
          await core.maintenance(repo, {
            graceMs: req.graceMs,
            repackPercent: req.repackPercent,
            dryRun: req.dryRun,
            signal: req.signal,
            onProgress: (p) => req.onProgress({ entries: p.done, bytes: 0 }),
          }),
        ),
      ),
    repair: (req) =>
      mapped(async () => {
        const r = await core.repair(repo, {
          dryRun: req.dryRun,
          fast: req.fast,
          signal: req.signal,
          onProgress: (p) => req.onProgress({ entries: p.done, bytes: 0 }),
          onNote: (n) => req.onNote(n.message),
          onLoss: (l) =>
            req.onLoss({
              kind: l.kind,
              snapshotId: l.snapshot,
              message: l.message,
              ...(l.path !== undefined ? { path: l.path } : {}),
            }),
        });
        const { notes: _notes, losses: _losses, ...outcome } = r;
        return outcome;
      }),
    syncTo: (destination, req) =>
      mapped(async () => {
        const dst = repositories.get(destination);
        if (dst === undefined)
          throw new CliError('sync: the destination store was not opened by kloset-core');
        const headers = await Promise.all(req.snapshotIds.map((id) => header(id)));
        const r = await core.syncSnapshots(repo, dst, {
          snapshots: headers,
          mapDir: dst.cachePath,
          signal: req.signal,
          onProgress: (p) => req.onProgress({ entries: p.entries, bytes: p.bytes }),
          onSnapshot: (x) => req.onSnapshot(syncedView(x)),
        });
        const { copied, present, storedBytes } = r;
        return { copied, present, storedBytes, snapshots: r.snapshots.map(syncedView) };
      }),
    close: async () => {
      try {
        await repo.close();
      } finally {
        await repo.storage.close();
      }
    },
  };
  repositories.set(store, repo);
  return store;
}

/**
 * Records scanned ahead while the store opens (a few hundred bytes each, ~1.5 KB with a bucket
 * object's metadata and open closure). The source is much faster than the engine once it runs, so
 * a longer queue only holds memory: 16,384 -> 2,048 took 40-45 MB off the peak RSS of a
 * 100,000-object bucket backup, same time.
 */
const SCAN_AHEAD_RECORDS = 2048;

/**
 * A backup's progress in the CLI's terms: once the scan has ended, its counts are the totals;
 * before, the counts so far (a lower bound).
 */
function backupProgressEvent(p: core.BackupProgress): ProgressEvent {
  const event = { entries: p.entries, bytes: p.bytes, errors: p.errors };
  if (p.scanned === undefined) return event;
  return p.scanned.done
    ? { ...event, totalEntries: p.scanned.entries, totalBytes: p.scanned.bytes }
    : { ...event, scannedEntries: p.scanned.entries, scannedBytes: p.scanned.bytes };
}

/** `source` filtered; a bad pattern is a usage error naming it and where it was given. */
function filterSource(source: Source, filters: BackupFilters): Source {
  const pattern = (f: FilterPattern) => f.pattern;
  try {
    return core.filteredSource(source, {
      exclude: filters.exclude.map(pattern),
      include: filters.include.map(pattern),
    });
  } catch (err) {
    if (!(err instanceof core.PatternError)) throw err;
    const bad = err.pattern;
    const given = [...filters.exclude, ...filters.include].find((f) => f.pattern === bad);
    throw new UsageError(given ? `${given.from}: ${err.message}` : err.message, 'backup');
  }
}

export async function createCoreEngine(): Promise<Engine> {
  return {
    filterSource,
    scanAhead: (source, signal) =>
      core.scanAhead(source, { maxRecords: SCAN_AHEAD_RECORDS, ...(signal ? { signal } : {}) }),
    create: (storage, req) =>
      mapped(async () => {
        const options =
          req.passphrase === undefined ? { plaintext: true as const } : { passphrase: req.passphrase };
        const repo = await core.Repository.create(storage, { ...options, cacheDir: req.cacheDir });
        const view = storeView(repo);
        await repo.close();
        return view;
      }),
    open: (storage: Storage, req) =>
      mapped(async () => {
        try {
          let repo: Repo;
          let passphrase: string | undefined;
          try {
            repo = await core.Repository.open(storage, { cacheDir: req.cacheDir });
          } catch (err) {
            if (!(err instanceof core.PassphraseRequiredError)) throw err;
            passphrase = await req.passphrase();
            repo = await core.Repository.open(storage, { cacheDir: req.cacheDir, passphrase });
          }
          return openStore(repo, passphrase);
        } catch (err) {
          await storage.close().catch(() => {});
          throw err;
        }
      }),
  };
}
