/**
 * The Engine over @kloset/core: opens Repositories, runs the core's backup / restore / check /
 * rm engines, and turns core types (byte ids, headers, entries) into the CLI's views.
 * The core's errors are mapped to one-line CliErrors with the right exit code here, and only here.
 */

import type { Storage } from '@kloset/connector-contract';
import * as core from '@kloset/core';
import { CliError, IntegrityError } from '../errors.ts';
import type { Engine, EntryView, OpenStore, SnapshotView, StoreView } from './engine.ts';

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

/** Core errors as one-line CLI errors. */
export function mapCoreError(err: unknown): unknown {
  if (err instanceof CliError) return err;
  if (err instanceof core.WrongPassphraseError) return new CliError('wrong passphrase', 1, { cause: err });
  if (err instanceof core.CorruptDataError) return new IntegrityError(err.message, { cause: err });
  return err;
}

async function mapped<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw mapCoreError(err);
  }
}

function openStore(repo: Repo): OpenStore {
  const header = async (id: string): Promise<Header> => core.resolveSnapshot(repo, id);
  return {
    view: storeView(repo),
    snapshots: () => mapped(async () => (await core.listSnapshots(repo)).map(snapshotView)),
    snapshot: (id) => mapped(async () => snapshotView(await header(id))),
    backup: (source, req) =>
      mapped(async () => {
        const result = await core.backup(repo, source, {
          ...(req.name !== undefined ? { name: req.name } : {}),
          tags: req.tags,
          signal: req.signal,
          onProgress: (p) => req.onProgress({ entries: p.entries, bytes: p.bytes, errors: p.errors }),
        });
        for (const e of result.errors) req.onFailure(e);
        return snapshotView(result.header);
      }),
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
      mapped(async () => {
        const h = await header(req.snapshotId);
        const r = await core.restore(repo, h, destination, {
          path: req.path,
          signal: req.signal,
          onProgress: (p) =>
            req.onProgress({
              entries: p.entries,
              bytes: p.bytes,
              totalEntries: p.totalEntries,
              totalBytes: p.totalBytes,
            }),
          onEntryError: (e) => req.onFailure({ path: e.path, error: e.error }),
        });
        const t = r.summary;
        return { entries: t.entries, bytes: t.bytes, failures: t.failed, corrupt: t.corrupt };
      }),
    check: (req) =>
      mapped(async () => {
        const r = await core.check(repo, {
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
        return { snapshots: r.snapshots, entries: r.entries, blobs: r.blobs, problems: r.problems };
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
    close: async () => {
      try {
        await repo.close();
      } finally {
        await repo.storage.close();
      }
    },
  };
}

export async function createCoreEngine(): Promise<Engine> {
  return {
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
          try {
            repo = await core.Repository.open(storage, { cacheDir: req.cacheDir });
          } catch (err) {
            if (!(err instanceof core.PassphraseRequiredError)) throw err;
            repo = await core.Repository.open(storage, {
              cacheDir: req.cacheDir,
              passphrase: await req.passphrase(),
            });
          }
          return openStore(repo);
        } catch (err) {
          await storage.close().catch(() => {});
          throw err;
        }
      }),
  };
}
