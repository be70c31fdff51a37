/**
 * A kloset store opened for use: the BlobStore the engines code against, plus sealed resources
 * (snapshot headers, locks), packfile access for `check`, and locks. Built on a Storage, the crypto
 * layer, the packfile code and a local index cache (FORMAT.md §1-§6, §9, §10).
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Storage } from '@kloset/connector-contract';
import type { KeyRing } from '../crypto/key-ring.ts';
import { nodeCryptoProvider } from '../crypto/node-provider.ts';
import type { CryptoProvider } from '../crypto/provider.ts';
import { openResource, sealResource } from '../crypto/seal.ts';
import { fromHexId, toHex } from '../encoding/bytes.ts';
import {
  type CreateStoreOptions,
  createStoreConfig,
  openStoreConfig,
  type StoreConfig,
} from '../format/config.ts';
import type { PackIndexEntry } from '../packfile/index-codec.ts';
import { type PackReadContext, readPackIndex } from '../packfile/reader.ts';
import { CryptoPool } from '../workers/crypto-pool.ts';
import {
  type BlobReadResult,
  type BlobSource,
  type ReadBlobsOptions,
  readBlob,
  readBlobs,
} from './blob-reader.ts';
import type { BlobId, BlobKind, BlobLocation, BlobStore, PutBlobResult } from './blob-store.ts';
import { BlobWriter } from './blob-writer.ts';
import { CorruptResourceError, MissingBlobError, RepositoryError, reasonOf } from './errors.ts';
import { INDEX_CACHE_FILE, IndexCache, type IndexedPackfile } from './index-cache.ts';
import { warmFile } from './index-cache-warm.ts';
import { type SyncResult, syncIndex, type UnreadableState } from './index-sync.ts';
import { acquireLock, type LockHandle, type LockOptions } from './locks.ts';
import { ReadBufferPool } from './read-buffers.ts';
import type { ResourceStore, SealedKind } from './resource-store.ts';
import { STATE_MAX_BLOBS } from './state-codec.ts';
import { putState } from './state-writer.ts';

/** Options for every session, whether creating or opening. */
export interface RepositorySessionOptions {
  /** Crypto implementation (default: node:crypto). */
  readonly crypto?: CryptoProvider;
  /** Root of the local caches (default: $XDG_CACHE_HOME/kloset, else ~/.cache/kloset). */
  readonly cacheDir?: string;
  /** Packfile uploads in flight at most (default 4); putBlob waits beyond. */
  readonly uploadConcurrency?: number;
  /** States read in parallel when updating the index cache (default 4). */
  readonly stateReadConcurrency?: number;
  /** Blobs per state written (default 100,000, the format's maximum; tests lower it). */
  readonly stateMaxBlobs?: number;
}

/** Options of `Repository.create`: a passphrase (or `plaintext: true`), KDF cost, chunking, packfile size. */
export type CreateRepositoryOptions = CreateStoreOptions & RepositorySessionOptions;

/** Options of `Repository.open`. */
export interface OpenRepositoryOptions extends RepositorySessionOptions {
  /** Required for an encrypted store; ignored for a plaintext one. */
  readonly passphrase?: string;
}

/** A packfile in the store, as listed. */
export interface PackfileInfo {
  readonly id: Uint8Array;
  readonly size: number;
  /** When it was put (Unix ms), if the Storage tells it. */
  readonly modified?: number;
}

/** What the index says of a packfile (see `Repository.packfileStatus`). */
export interface PackfileStatus {
  /** Size in bytes, when a state gave it. */
  readonly size?: number;
  /** The newest time (Unix seconds) of the states listing it. */
  readonly time?: number;
  /** A state lists it in `deleted_packfiles`. */
  readonly deleted: boolean;
  /** This client found it missing from storage although no state deleted it (a damaged store). */
  readonly missing: boolean;
}

/** Temporary caches of `withFreshIndex` in the cache root: `.fresh-XXXXXX`. */
const FRESH_CACHE_PREFIX = '.fresh-';
/** A temporary cache older than this was left by a killed process. */
const STALE_FRESH_CACHE_MS = 24 * 60 * 60 * 1000;

/** Removes temporary caches a killed `check` left in `root` (older than a day). */
function removeStaleFreshCaches(root: string): void {
  for (const name of readdirSync(root)) {
    if (!name.startsWith(FRESH_CACHE_PREFIX)) continue;
    const path = join(root, name);
    try {
      if (Date.now() - statSync(path).mtimeMs > STALE_FRESH_CACHE_MS)
        rmSync(path, { recursive: true, force: true });
    } catch {
      // gone meanwhile, or not ours to remove: it is only a cache
    }
  }
}

/** The default root of local caches: $XDG_CACHE_HOME/kloset, else ~/.cache/kloset. */
export function defaultCacheDir(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg && xdg.length > 0 ? xdg : join(homedir(), '.cache'), 'kloset');
}

/**
 * An open store. Writes go through one session: putBlob ... flush; `close` without `flush` drops
 * unflushed blobs (the packfiles already uploaded stay unlisted, FORMAT.md §10).
 */
export class Repository implements BlobStore, ResourceStore {
  readonly storage: Storage;
  readonly config: StoreConfig;
  readonly keyRing: KeyRing;
  readonly provider: CryptoProvider;
  /** The directory of this store's cache: `<cacheDir>/<hex store id>`. */
  readonly cachePath: string;
  readonly #options: RepositorySessionOptions;
  #cache: IndexCache;
  #writer: BlobWriter;
  #closed = false;
  #lastSync: SyncResult | undefined;
  #cacheSetAside: { readonly reason: string; readonly path: string } | undefined;
  /** A temporary cache directory to remove on close (withFreshIndex). */
  #removeOnClose: string | undefined;
  /** Buffers of coalesced reads that restores give back (a few reads' worth wait in it). */
  readonly #readBuffers = new ReadBufferPool(64 * 1024 * 1024);

  /** The pool of read buffers (EngineRepository.readBuffers). */
  get readBuffers(): ReadBufferPool {
    return this.#readBuffers;
  }

  private constructor(
    storage: Storage,
    config: StoreConfig,
    keyRing: KeyRing,
    options: RepositorySessionOptions,
    cache: IndexCache,
    cachePath: string,
  ) {
    this.storage = storage;
    this.config = config;
    this.keyRing = keyRing;
    this.provider = options.crypto ?? nodeCryptoProvider;
    this.#options = options;
    this.#cache = cache;
    this.#cacheSetAside = cache.setAside;
    this.cachePath = cachePath;
    this.#writer = this.#newWriter();
  }

  /**
   * Creates a new store in `storage` (which must be empty: `already_exists` otherwise) and opens it.
   * Writers enforce the KDF minimums unless `allowWeakKdf` (tests).
   */
  static async create(storage: Storage, options: CreateRepositoryOptions): Promise<Repository> {
    const provider = options.crypto ?? nodeCryptoProvider;
    const created = await createStoreConfig(options, provider);
    await storage.create(created.bytes);
    return Repository.#start(storage, created.config, created.keyRing, options);
  }

  /**
   * Opens the store in `storage`: unlocks the keys (a wrong passphrase throws WrongPassphraseError
   * before anything is read besides the config, or written), then brings the local index cache up
   * to date from the store's states, rebuilding it if it is missing or unusable.
   */
  static async open(storage: Storage, options: OpenRepositoryOptions = {}): Promise<Repository> {
    const provider = options.crypto ?? nodeCryptoProvider;
    const configBytes = await storage.open();
    const opened = await openStoreConfig(configBytes, options.passphrase, provider);
    return Repository.#start(storage, opened.config, opened.keyRing, options);
  }

  static async #start(
    storage: Storage,
    config: StoreConfig,
    keyRing: KeyRing,
    options: RepositorySessionOptions,
  ): Promise<Repository> {
    const cachePath = join(options.cacheDir ?? defaultCacheDir(), toHex(config.storeId));
    void warmFile(join(cachePath, INDEX_CACHE_FILE)); // beside the listing of states below
    const cache = IndexCache.open(cachePath, config.storeId);
    const repo = new Repository(storage, config, keyRing, options, cache, cachePath);
    try {
      await repo.refreshIndex();
    } catch (err) {
      cache.close();
      throw err;
    }
    return repo;
  }

  #newWriter(): BlobWriter {
    return new BlobWriter({
      storage: this.storage,
      provider: this.provider,
      keyRing: this.keyRing,
      cache: this.#cache,
      packfileSize: this.config.packfileSize,
      compression: this.config.compression,
      ...(this.#options.uploadConcurrency === undefined
        ? {}
        : { uploadConcurrency: this.#options.uploadConcurrency }),
      ...(this.#options.stateMaxBlobs === undefined ? {} : { stateMaxBlobs: this.#options.stateMaxBlobs }),
      workers: () => CryptoPool.shared(),
    });
  }

  /** Hex store id. */
  get storeId(): string {
    return toHex(this.config.storeId);
  }

  /** The crypto context for packfile readers. */
  get #ctx(): PackReadContext {
    return { provider: this.provider, keyRing: this.keyRing };
  }

  #assertOpen(): void {
    if (this.#closed) throw new RepositoryError('invalid', `repository ${this.storage.location} is closed`);
  }

  /**
   * Applies the store's states not yet in the cache. If the store no longer lists states the cache
   * applied (maintenance removed them), the cache is discarded and rebuilt from scratch.
   */
  async refreshIndex(): Promise<SyncResult> {
    this.#assertOpen();
    const result = await this.#sync();
    if (result.vanished === 0) return result;
    return this.rebuildIndex(`the store lost ${result.vanished} state(s) this index cache applied`, false);
  }

  /**
   * Set when this session found its index cache damaged and set it aside (renamed to `path`,
   * kept for a bug report), then rebuilt it from the store: say it once to the user.
   */
  get cacheSetAside(): { readonly reason: string; readonly path: string } | undefined {
    return this.#cacheSetAside;
  }

  /**
   * Discards the local index cache and rebuilds it from the store's states (the cache is only a
   * cache: e.g. `check` found it inconsistent with the store). `why` names the reason in errors.
   */
  async rebuildIndex(why: string, setAside = true): Promise<SyncResult> {
    this.#assertOpen();
    if (this.#cache.stats().pendingBlobs > 0) {
      throw new RepositoryError(
        'invalid',
        `${why}: the cache must be rebuilt, which needs a session without unflushed blobs (flush first)`,
      );
    }
    await this.#writer.abandon();
    this.#cache.close();
    if (setAside) {
      IndexCache.setAside(this.cachePath);
      this.#cacheSetAside = { reason: why, path: `${this.#cache.path}.damaged` };
    } else IndexCache.remove(this.cachePath);
    this.#cache = IndexCache.open(this.cachePath, this.config.storeId);
    this.#writer = this.#newWriter();
    return this.#sync();
  }

  async #sync(): Promise<SyncResult> {
    const concurrency = this.#options.stateReadConcurrency ?? 4;
    const result = await syncIndex(this.storage, this.provider, this.keyRing, this.#cache, concurrency);
    this.#lastSync = result;
    return result;
  }

  /**
   * States the store lists that the last index update could not read (the first 100 named, and
   * the count): the index lacks what they list. Empty on a healthy store.
   */
  get unreadableStates(): { readonly states: readonly UnreadableState[]; readonly count: number } {
    return { states: this.#lastSync?.unreadable ?? [], count: this.#lastSync?.unreadableCount ?? 0 };
  }

  /**
   * The same store opened again with an index built from the store alone, in a temporary cache
   * removed by its `close` (what a new client sees, whatever this client's cache holds: `check`).
   */
  async withFreshIndex(): Promise<Repository> {
    this.#assertOpen();
    const root = this.#options.cacheDir ?? defaultCacheDir();
    mkdirSync(root, { recursive: true });
    removeStaleFreshCaches(root);
    const dir = mkdtempSync(join(root, FRESH_CACHE_PREFIX));
    try {
      const repo = await Repository.#start(this.storage, this.config, this.keyRing, {
        ...this.#options,
        cacheDir: dir,
      });
      repo.#removeOnClose = dir;
      return repo;
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  // ---- BlobStore -------------------------------------------------------------------------------

  /** HMAC-SHA-256(K_mac, data). */
  blobId(data: Uint8Array): BlobId {
    return this.#writer.blobId(data);
  }

  /** True if the blob is indexed or pending in this session. */
  hasBlob(kind: BlobKind, id: BlobId): boolean {
    this.#assertOpen();
    return this.#cache.has(kind, id);
  }

  /** See BlobStore.snapshotBlobsIndexed. */
  snapshotBlobsIndexed(snapshotId: Uint8Array): boolean {
    this.#assertOpen();
    return this.#cache.isSnapshotIndexed(snapshotId);
  }

  /** See BlobStore.recordSnapshotIndexed. */
  recordSnapshotIndexed(snapshotId: Uint8Array): void {
    this.#assertOpen();
    this.#cache.markSnapshotIndexed(snapshotId);
  }

  /** True when the index knows of no packfile deleted by maintenance or found missing. */
  noPackfileDeleted(): boolean {
    this.#assertOpen();
    return !this.#cache.anyPackfileDeleted();
  }

  /** See BlobStore.dropMissingPackfiles: one listing of the store's packfiles. */
  async dropMissingPackfiles(): Promise<string[]> {
    this.#assertOpen();
    const cache = this.#cache;
    const mark = cache.beginPackListing();
    for await (const info of this.storage.list('packfile')) {
      cache.markPackListed(fromHexId(info.id, 'packfile id'));
    }
    return cache.endPackListing(mark).map(toHex);
  }

  /** Where a copy of a blob is in a packfile found missing or damaged (for messages), or undefined. */
  locateLostBlob(kind: BlobKind, id: BlobId): BlobLocation | undefined {
    this.#assertOpen();
    return this.#cache.locateLost(kind, id);
  }

  /** Marks packfiles that check found missing from storage: their blobs leave this index. */
  markPackfilesMissing(packIds: readonly Uint8Array[]): void {
    this.#assertOpen();
    this.#cache.markPackfilesMissing(packIds);
  }

  /** Drops a copy of a blob that failed verification from this index (check found it corrupt). */
  forgetCorruptBlob(kind: BlobKind, id: BlobId, packId: Uint8Array): void {
    this.#assertOpen();
    this.#cache.forgetBlob(kind, id, packId);
  }

  /** Where a blob is (indexed, or pending in this session), or undefined. */
  locateBlob(kind: BlobKind, id: BlobId): BlobLocation | undefined {
    this.#assertOpen();
    return this.#cache.locate(kind, id);
  }

  /** See BlobStore.putBlob. Throws if an earlier background upload failed (the session is broken). */
  putBlob(kind: BlobKind, data: Uint8Array): Promise<PutBlobResult> {
    this.#assertOpen();
    return this.#writer.putBlob(kind, data);
  }

  /**
   * Stores a blob in a new packfile even if the index has it (maintenance repacks the live blobs
   * of a packfile before deleting it). Durable, and indexed in its new place, after `flush`.
   */
  rewriteBlob(kind: BlobKind, data: Uint8Array): Promise<PutBlobResult> {
    this.#assertOpen();
    return this.#writer.putBlob(kind, data, true);
  }

  /**
   * Reads and verifies one blob with one ranged read (or from memory if its packfile is not uploaded
   * yet). Throws MissingBlobError or CorruptBlobError (both name the blob, the latter the packfile).
   */
  async getBlob(kind: BlobKind, id: BlobId): Promise<Uint8Array> {
    this.#assertOpen();
    try {
      return await readBlob(this.#source(), kind, id);
    } catch (err) {
      if (!this.#lostPackfile(err)) throw err;
      return readBlob(this.#source(), kind, id); // another copy, if the index has one
    }
  }

  /**
   * True when `err` says a blob's packfile is gone from storage although the index lists it (a
   * damaged store): the packfile leaves this index (so that a copy of its blobs elsewhere serves,
   * and backups store them again) and the caller may look the blob up once more.
   */
  #lostPackfile(err: unknown): boolean {
    if (!(err instanceof MissingBlobError) || err.packfileId === undefined) return false;
    this.#cache.markPackfilesMissing([fromHexId(err.packfileId, 'packfile id')]);
    return true;
  }

  /**
   * Reads many blobs of one kind with coalesced ranged reads: one result per entry of `ids`, with
   * its position in `ids`, in storage order; a missing or corrupt blob gives an error result and
   * the others go on. For restore (chunks of many files) and check.
   */
  async *getBlobs(
    kind: BlobKind,
    ids: readonly BlobId[],
    options?: ReadBlobsOptions,
  ): AsyncGenerator<BlobReadResult> {
    this.#assertOpen();
    // Blobs whose packfile turned out gone are looked up again once, after the first pass.
    const retry: number[] = [];
    for await (const r of readBlobs(this.#source(), kind, ids, options)) {
      if (!r.ok && this.#lostPackfile(r.error)) retry.push(r.index);
      else yield r;
    }
    if (retry.length === 0) return;
    for await (const r of readBlobs(
      this.#source(),
      kind,
      retry.map((i) => ids[i]!),
      options,
    )) {
      yield { ...r, index: retry[r.index]! };
    }
  }

  #source(): BlobSource {
    const cache = this.#cache;
    const writer = this.#writer;
    const provider = this.provider;
    const plaintext = this.keyRing.plaintext;
    return {
      storage: this.storage,
      ctx: this.#ctx,
      // Workers run node:crypto; another provider (tests pin @noble) opens blobs on this thread.
      // Started by the first coalesced read only: single reads (tree nodes of an unchanged
      // re-backup, ls, cat) open their blob on this thread, and a worker costs ~0.1 s of CPU.
      get workers() {
        return provider === nodeCryptoProvider && !plaintext ? CryptoPool.shared() : undefined;
      },
      buffers: this.#readBuffers,
      locate: (kind: BlobKind, id: BlobId) => cache.locate(kind, id),
      pendingPackfile: (packId: Uint8Array) => writer.pendingPackfile(packId),
    };
  }

  /** Uploads pending packfiles, then writes the states that index them (FORMAT.md §6, §10). */
  flush(): Promise<void> {
    this.#assertOpen();
    return this.#writer.flush();
  }

  // ---- Packfiles, for check ----------------------------------------------------------------------

  /** The packfiles in the store (streamed from Storage.list, whether indexed or not). */
  async *listPackfiles(): AsyncGenerator<PackfileInfo> {
    this.#assertOpen();
    for await (const info of this.storage.list('packfile')) {
      const id = fromHexId(info.id, 'packfile id');
      yield info.modified === undefined
        ? { id, size: info.size }
        : { id, size: info.size, modified: info.modified };
    }
  }

  /** What the index knows of a packfile, or undefined if no state names it. */
  packfileStatus(packId: Uint8Array): PackfileStatus | undefined {
    this.#assertOpen();
    return this.#cache.packfileStatus(packId);
  }

  /** The packfiles that states list as deleted (maintenance), paged from the cache. */
  *deletedPackfiles(): Generator<Uint8Array> {
    this.#assertOpen();
    yield* this.#cache.deletedPackfiles();
  }

  /**
   * Writes states listing `packIds` in `deleted_packfiles` (at most STATE_MAX_BLOBS ids each), each
   * durable before the next, and applies them to the index: from then on no reader of the store
   * uses those packfiles (FORMAT.md §6: deletion is sticky). Maintenance calls this before it
   * deletes the packfiles themselves.
   */
  async writeDeletions(packIds: readonly Uint8Array[]): Promise<number> {
    this.#assertOpen();
    const ctx = {
      storage: this.storage,
      provider: this.provider,
      keyRing: this.keyRing,
      compression: this.config.compression,
    };
    let states = 0;
    for (let i = 0; i < packIds.length; i += STATE_MAX_BLOBS) {
      const deletedPackfiles = packIds.slice(i, i + STATE_MAX_BLOBS);
      const time = Math.floor(Date.now() / 1000);
      const stateId = await putState(ctx, { time, packfiles: [], deletedPackfiles });
      this.#cache.applyState(stateId, [], deletedPackfiles, time);
      states++;
    }
    if (states > 0) this.#cache.purgeDeleted();
    return states;
  }

  // ---- Repair (kloset repair) -------------------------------------------------------------------

  /**
   * Writes states listing `packfiles` (each with the blobs given; at most STATE_MAX_BLOBS blobs, or
   * `stateMaxBlobs`, per state, a packfile's blobs split across states if needed), each durable before the next, and
   * applies them to the index. Repair lists packfiles that no readable state lists any more.
   */
  async writeStates(packfiles: readonly IndexedPackfile[]): Promise<number> {
    this.#assertOpen();
    const ctx = {
      storage: this.storage,
      provider: this.provider,
      keyRing: this.keyRing,
      compression: this.config.compression,
    };
    const max = this.#options.stateMaxBlobs ?? STATE_MAX_BLOBS;
    let states = 0;
    let batch: IndexedPackfile[] = [];
    let count = 0;
    const write = async () => {
      if (batch.length === 0) return;
      const time = Math.floor(Date.now() / 1000);
      const stateId = await putState(ctx, { time, packfiles: batch, deletedPackfiles: [] });
      this.#cache.applyState(stateId, batch, [], time);
      states++;
      batch = [];
      count = 0;
    };
    for (const pack of packfiles) {
      let i = 0;
      do {
        const take = Math.min(max - count, pack.blobs.length - i);
        batch.push({ id: pack.id, size: pack.size, blobs: pack.blobs.slice(i, i + take) });
        count += take;
        i += take;
        if (count >= max) await write();
      } while (i < pack.blobs.length);
    }
    await write();
    return states;
  }

  /** Deletes a packfile from storage (absent is fine). Only maintenance, after `writeDeletions`. */
  async deletePackfile(packId: Uint8Array): Promise<void> {
    this.#assertOpen();
    await this.storage.delete('packfile', toHex(packId));
  }

  /** The packfiles the index knows (live ones), paged from the cache. */
  *indexedPackfiles(): Generator<Uint8Array> {
    this.#assertOpen();
    yield* this.#cache.packfiles();
  }

  /** What the index says a packfile holds, by offset. */
  indexedBlobs(packId: Uint8Array): BlobLocation[] {
    this.#assertOpen();
    return this.#cache.packfileBlobs(packId);
  }

  /**
   * Reads and verifies a packfile's own index (footer, then index). `size` comes from
   * `listPackfiles`; without it the size recorded by the index is used. Throws
   * CorruptPackfileError when footer or index fail a check.
   */
  async readPackIndex(packId: Uint8Array, size?: number): Promise<PackIndexEntry[]> {
    this.#assertOpen();
    const known = size ?? this.#cache.packfileSize(packId);
    if (known === undefined) {
      throw new RepositoryError('invalid', `packfile ${toHex(packId)}: size unknown (pass the listed size)`);
    }
    return readPackIndex(this.storage, this.#ctx, packId, known);
  }

  // ---- Sealed resources ------------------------------------------------------------------------

  /** 32 random bytes. */
  newResourceId(): Uint8Array {
    return this.provider.randomBytes(32);
  }

  /** Seals and puts a snapshot header or lock body (FORMAT.md §1). */
  async putResource(kind: SealedKind, id: Uint8Array, body: Uint8Array): Promise<void> {
    this.#assertOpen();
    const sealed = await sealResource(this.provider, this.keyRing, kind, id, body, this.config.compression);
    await this.storage.put(kind, toHex(id), sealed);
  }

  /** Gets and opens a resource; ConnectorError `not_found` if absent, CorruptResourceError if it fails a check. */
  async getResource(kind: SealedKind, id: Uint8Array): Promise<Uint8Array> {
    this.#assertOpen();
    const bytes = await this.storage.get(kind, toHex(id));
    try {
      return await openResource(this.provider, this.keyRing, kind, id, bytes);
    } catch (err) {
      throw new CorruptResourceError(kind, id, reasonOf(err), { cause: err });
    }
  }

  /** Ids of the resources of `kind`, streamed. */
  async *listResources(kind: SealedKind): AsyncGenerator<Uint8Array> {
    this.#assertOpen();
    for await (const info of this.storage.list(kind)) yield fromHexId(info.id, `${kind} id`);
  }

  /** Deletes a resource (absent is fine). */
  async deleteResource(kind: SealedKind, id: Uint8Array): Promise<void> {
    this.#assertOpen();
    await this.storage.delete(kind, toHex(id));
  }

  // ---- Locks -----------------------------------------------------------------------------------

  /**
   * Takes a shared (`exclusive: false`) or exclusive lock (FORMAT.md §9); throws LockConflictError
   * naming the holder. Release the handle when done.
   */
  lock(options: LockOptions): Promise<LockHandle> {
    this.#assertOpen();
    return acquireLock(this, options);
  }

  // ---- Lifecycle -------------------------------------------------------------------------------

  /**
   * Compares this client's index cache with `fresh` (the same store with an index built from the
   * store alone: withFreshIndex): SQLite's check of the cache file, then, packfile by packfile,
   * the blobs each holds. Returns what differs (the cache is then wrong: rebuild it), or undefined.
   * Packfiles this cache knows to be missing from storage are skipped.
   */
  cacheDifference(fresh: Repository): string | undefined {
    this.#assertOpen();
    try {
      const damage = this.#cache.quickCheck();
      if (damage !== undefined) return `the cache file is damaged (${damage})`;
      for (const packId of fresh.indexedPackfiles()) {
        const status = this.#cache.packfileStatus(packId);
        if (status?.missing === true) continue;
        const mine = this.#cache.packfileBlobs(packId);
        const theirs = fresh.indexedBlobs(packId);
        const same =
          mine.length === theirs.length &&
          mine.every((m, i) => {
            const t = theirs[i]!;
            return (
              m.kind === t.kind &&
              m.offset === t.offset &&
              m.length === t.length &&
              m.rawLength === t.rawLength &&
              Buffer.compare(m.id, t.id) === 0
            );
          });
        if (!same) {
          return `packfile ${toHex(packId)}: ${mine.length} blobs in the cache, ${theirs.length} in the store's states, or at other places`;
        }
      }
      return undefined;
    } catch (err) {
      return `the cache cannot be read (${reasonOf(err)})`;
    }
  }

  /** Counts of the index cache (diagnostics, tests). */
  indexStats(): { states: number; packfiles: number; blobs: number; pendingBlobs: number } {
    this.#assertOpen();
    return this.#cache.stats();
  }

  /**
   * Ends the session: unflushed blobs are dropped (call `flush` first to keep them), running
   * uploads are awaited, the cache is closed. The Storage is left open (the caller owns it).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#writer.abandon();
    this.#cache.close();
    if (this.#removeOnClose !== undefined) rmSync(this.#removeOnClose, { recursive: true, force: true });
  }
}
