/**
 * The write path of a repository session: blobs are compressed (by size: on this thread, in the
 * crypto worker or in the thread pool), sealed and appended to one open packfile per blob kind;
 * full packfiles upload in the background through a bounded TaskPool (putBlob waits when it is
 * full); states listing durable packfiles are written at `flush` and, in long sessions, every
 * WRITER_STATE_BLOBS blobs (FORMAT.md §6, §10).
 *
 * Memory: at most one open packfile per kind plus `uploadConcurrency` (+1) packfiles being
 * uploaded, each bounded by the target size. The index cache holds the pending blobs (those of
 * these packfiles, and at most about `stateMaxBlobs` of uploaded packfiles waiting for their
 * state); the only other map is of blobs being compressed right now, bounded by the number of
 * concurrent putBlob callers.
 */
import type { Storage } from '@kloset/connector-contract';
import {
  ASYNC_MIN_LENGTH,
  type CompressionMode,
  compressIfPays,
  compressIfPaysAsync,
  DEFAULT_ZSTD_LEVEL,
  type EncodedPayload,
} from '../crypto/compression.ts';
import { type KeyRing, blobId as macBlobId } from '../crypto/key-ring.ts';
import type { CryptoProvider } from '../crypto/provider.ts';
import { SEAL_OVERHEAD } from '../crypto/seal.ts';
import { toHex } from '../encoding/bytes.ts';
import { PackfileWriter } from '../packfile/writer.ts';
import type { CryptoPool } from '../workers/crypto-pool.ts';
import { BlobIdMap } from './blob-id-map.ts';
import { type BlobId, BlobKind, type PutBlobResult } from './blob-store.ts';
import { RepositoryError } from './errors.ts';
import { type IndexCache, PendingPackStatus } from './index-cache.ts';
import { STATE_MAX_BLOBS } from './state-codec.ts';
import { putState } from './state-writer.ts';
import { TaskPool } from './task-pool.ts';

/**
 * Blobs a state of a write session lists (fewer than the format's STATE_MAX_BLOBS): until a state
 * lists them, the blobs of uploaded packfiles are held in memory (~300 bytes each with their ids
 * and index entries, twice a state's worth at most: #backlogFull), so a backup of 100k tiny files
 * held all of them to the end (heap 137 MB). 32,768 -> 16,384: 100,000-object bucket backup, peak
 * RSS 409 -> 385 MB, same time; a million blobs make 61 states.
 */
export const WRITER_STATE_BLOBS = 16_384;

/**
 * Payloads up to this size are compressed on this thread, in putBlob, without an await: node:zlib
 * with the pledged size costs 12-30 us per call up to 16 KiB (73 us for 16 KiB of random bytes),
 * less than a round trip to the crypto worker (~100 us of this thread's time: the message, and
 * waking the worker up). 100,000-object bucket of 1 KiB objects: CPU 50.9 -> 46.5 s, peak RSS
 * 305 -> 260 MB (the worker is not started).
 */
const INLINE_COMPRESS_MAX = 16 * 1024;
/**
 * Tree nodes (at most 64 KiB, tree-builder.ts, but for a node of one huge entry) are compressed on
 * this thread too: a few per thousand entries, 0.1-0.3 ms each, and a backup of small files then
 * never starts the crypto worker for them at its end (100,000 files of 100 bytes: peak RSS 225-245
 * -> 220-227 MB over 3 alternating pairs; 244 -> 217 MB with the RSS sampler).
 */
const INLINE_COMPRESS_MAX_TREE = 128 * 1024;

/** The largest payload of `kind` compressed on the calling thread. */
function inlineCompressMax(kind: BlobKind): number {
  return kind === BlobKind.Tree ? INLINE_COMPRESS_MAX_TREE : INLINE_COMPRESS_MAX;
}

/** Options of a BlobWriter. */
export interface BlobWriterOptions {
  readonly storage: Storage;
  readonly provider: CryptoProvider;
  readonly keyRing: KeyRing;
  readonly cache: IndexCache;
  /** Target packfile size (the store config's). */
  readonly packfileSize: number;
  readonly compression: CompressionMode;
  /** Packfile uploads in flight at most (default 4). */
  readonly uploadConcurrency?: number;
  /** Blobs per state (default WRITER_STATE_BLOBS; at most STATE_MAX_BLOBS; tests lower it). */
  readonly stateMaxBlobs?: number;
  /**
   * Worker threads to compress payloads shorter than ASYNC_MIN_LENGTH in (asked for on the first
   * such payload); without them, or if none is alive, they are compressed on this thread.
   */
  readonly workers?: () => Pick<CryptoPool, 'compress'> | undefined;
}

/** Writes blobs into packfiles and states. One per repository session. */
export class BlobWriter {
  readonly #o: BlobWriterOptions;
  readonly #stateMaxBlobs: number;
  readonly #uploads: TaskPool;
  /** The open packfile of each kind. */
  readonly #open = new Map<BlobKind, PackfileWriter>();
  /** Packfiles finished but not yet durable, by hex id (to serve reads of their blobs). */
  readonly #uploading = new Map<string, PackfileWriter>();
  /** Blobs being compressed now, by kind and id: concurrent puts of the same data wait here. */
  readonly #inProgress = new BlobIdMap<Promise<PutBlobResult>>();
  /** Pending blobs in durable packfiles, not yet listed by a state. */
  #uploadedPending = 0;
  /** Serializes state writes. */
  #stateChain: Promise<void> = Promise.resolve();
  #failed: unknown;
  #hasFailed = false;
  /** The workers (null: not asked for yet). */
  #workers: Pick<CryptoPool, 'compress'> | undefined | null = null;

  constructor(options: BlobWriterOptions) {
    this.#o = options;
    this.#stateMaxBlobs = Math.min(options.stateMaxBlobs ?? WRITER_STATE_BLOBS, STATE_MAX_BLOBS);
    this.#uploads = new TaskPool(options.uploadConcurrency ?? 4, 'packfile upload');
  }

  /** HMAC-SHA-256(K_mac, data). */
  blobId(data: Uint8Array): BlobId {
    return macBlobId(this.#o.provider, this.#o.keyRing, data);
  }

  /** Packfile uploads running now (for tests and progress). */
  get uploadsInFlight(): number {
    return this.#uploads.running;
  }

  /**
   * The packfile writer holding a blob not yet durable (open or uploading), so reads can be served
   * from memory; undefined once the packfile is in the store.
   */
  pendingPackfile(packId: Uint8Array): PackfileWriter | undefined {
    const hex = toHex(packId);
    const upload = this.#uploading.get(hex);
    if (upload) return upload;
    for (const w of this.#open.values()) if (toHex(w.id) === hex) return w;
    return undefined;
  }

  /**
   * Stores a blob unless present (indexed or pending); may wait for upload slots. With `rewrite`
   * (maintenance's repacking), a blob already indexed is stored again in a new packfile, unless
   * this session already holds it.
   */
  async putBlob(kind: BlobKind, data: Uint8Array, rewrite = false): Promise<PutBlobResult> {
    this.#check();
    if (kind !== BlobKind.Chunk && kind !== BlobKind.Tree) {
      throw new RepositoryError('invalid', `putBlob: unknown blob kind ${String(kind)}`);
    }
    const id = this.blobId(data);
    const present = rewrite
      ? this.#o.cache.locatePending(kind, id) !== undefined
      : this.#o.cache.has(kind, id);
    if (present) return { id, stored: false, storedBytes: 0 };
    // A payload stored as is (no compression, or too short to compress) or compressed here (up to
    // INLINE_COMPRESS_MAX) needs no await: appended now, it is pending before any other putBlob
    // runs (no in-progress entry to keep).
    if (
      (this.#o.compression === 'none' || data.length <= inlineCompressMax(kind)) &&
      !this.#uploads.full &&
      !this.#backlogFull &&
      !this.#inProgress.has(kind, id)
    ) {
      return this.#append(kind, id, compressIfPays(data, this.#o.compression), data.length);
    }
    const inProgress = this.#inProgress.get(kind, id);
    if (inProgress) {
      await inProgress;
      return { id, stored: false, storedBytes: 0 };
    }
    const work = this.#store(kind, id, data);
    this.#inProgress.set(kind, id, work);
    try {
      return await work;
    } finally {
      this.#inProgress.delete(kind, id);
    }
  }

  /**
   * The payload to seal: up to inlineCompressMax(kind) compressed on this thread (a small payload that
   * had to wait for room), below ASYNC_MIN_LENGTH in a worker (up to a few hundred us of
   * compression, off this thread), larger ones in the thread pool by compressIfPaysAsync.
   */
  #encode(kind: BlobKind, data: Uint8Array): Promise<EncodedPayload> {
    if (data.length <= inlineCompressMax(kind)) {
      return Promise.resolve(compressIfPays(data, this.#o.compression));
    }
    if (this.#o.compression === 'zstd' && data.length < ASYNC_MIN_LENGTH) {
      if (this.#workers === null) this.#workers = this.#o.workers?.();
      const inWorker = this.#workers?.compress(data, DEFAULT_ZSTD_LEVEL);
      // A worker that dies takes its requests with it: they are done here instead (same output).
      if (inWorker !== undefined) return inWorker.catch(() => compressIfPaysAsync(data, this.#o.compression));
    }
    return compressIfPaysAsync(data, this.#o.compression);
  }

  async #store(kind: BlobKind, id: BlobId, data: Uint8Array): Promise<PutBlobResult> {
    const encoded = await this.#encode(kind, data);
    this.#check();
    while (this.#uploads.full || this.#backlogFull) {
      await (this.#uploads.full ? this.#uploads.changed() : this.#stateChain);
      this.#check();
    }
    return this.#append(kind, id, encoded, data.length);
  }

  /**
   * Appends an encoded blob to the open packfile of its kind (the caller checked that an upload
   * slot is free). No await: the room is ours and the cache sees one writer. This call starts at
   * most two uploads (the old packfile, and a new one a large blob filled), so at most
   * `uploadConcurrency + 1` run at once.
   */
  #append(kind: BlobKind, id: BlobId, encoded: EncodedPayload, rawLength: number): PutBlobResult {
    const sealedLength = encoded.body.length + SEAL_OVERHEAD;
    let writer = this.#open.get(kind);
    if (writer && !writer.fits(sealedLength, rawLength)) {
      this.#startUpload(kind, writer);
      writer = undefined;
    }
    if (!writer) {
      writer = new PackfileWriter({
        provider: this.#o.provider,
        keyRing: this.#o.keyRing,
        id: this.#o.provider.randomBytes(32),
        targetSize: this.#o.packfileSize,
        compression: this.#o.compression,
      });
      this.#o.cache.addPendingPack(writer.id);
      this.#open.set(kind, writer);
    }
    const entry = writer.add(kind, id, encoded, rawLength);
    this.#o.cache.addPendingBlob(writer.id, entry);
    if (!writer.fits(SEAL_OVERHEAD, 0)) this.#startUpload(kind, writer);
    return { id, stored: true, storedBytes: entry.length };
  }

  /**
   * True while twice a state's worth of blobs in uploaded packfiles wait for a state: they are
   * held in memory (the index cache's pending blobs) until one lists them, so new blobs wait for
   * the state write queued meanwhile (1M tiny files: 540k pending blobs at 73 s without this).
   */
  get #backlogFull(): boolean {
    return this.#uploadedPending >= 2 * this.#stateMaxBlobs;
  }

  /** Finishes the open packfile of `kind` and starts its upload (the caller holds a slot or flushes). */
  #startUpload(kind: BlobKind, writer: PackfileWriter): void {
    this.#open.delete(kind);
    const packfile = writer.finish();
    const hex = toHex(packfile.id);
    this.#uploading.set(hex, writer);
    this.#o.cache.setPendingPackStatus(packfile.id, PendingPackStatus.Uploading, packfile.size);
    this.#uploads.start(async () => {
      try {
        await this.#o.storage.put('packfile', hex, packfile.body);
      } catch (err) {
        this.#fail(err);
        throw err;
      } finally {
        this.#uploading.delete(hex);
      }
      this.#o.cache.setPendingPackStatus(packfile.id, PendingPackStatus.Uploaded);
      this.#uploadedPending += packfile.entries.length;
      if (this.#uploadedPending >= this.#stateMaxBlobs) this.#queueStates(false);
    });
  }

  /** Queues a state write (serialized); `final` also writes a partial state with the remainder. */
  #queueStates(final: boolean): Promise<void> {
    const run = this.#stateChain.then(() => this.#writeStates(final));
    this.#stateChain = run.catch((err: unknown) => this.#fail(err));
    return run;
  }

  async #writeStates(final: boolean): Promise<void> {
    this.#check();
    while (this.#uploadedPending >= (final ? 1 : this.#stateMaxBlobs)) {
      const packfiles = this.#o.cache.pendingUploaded(this.#stateMaxBlobs);
      const count = packfiles.reduce((n, p) => n + p.blobs.length, 0);
      if (count === 0) {
        this.#uploadedPending = 0;
        return;
      }
      const time = Math.floor(Date.now() / 1000);
      const stateId = await putState(this.#o, { time, packfiles, deletedPackfiles: [] });
      this.#o.cache.commitState(stateId, packfiles, time);
      this.#uploadedPending -= count;
    }
  }

  /**
   * Uploads the open packfiles, waits for every upload, then writes the states listing them. Blobs
   * whose putBlob resolved before `flush` was called are durable and indexed when it resolves.
   */
  async flush(): Promise<void> {
    this.#check();
    for (const [kind, writer] of [...this.#open]) {
      while (this.#uploads.full) {
        await this.#uploads.changed();
        this.#check();
      }
      if (this.#open.get(kind) === writer) this.#startUpload(kind, writer);
    }
    await this.#uploads.drain();
    await this.#stateChain;
    await this.#queueStates(true);
    this.#check();
  }

  /**
   * Ends the session without writing anything more: open packfiles are dropped (never uploaded),
   * and running uploads are awaited (their packfiles stay unlisted; maintenance removes them).
   * The cache forgets this session's pending blobs: none of them will be listed now.
   */
  async abandon(): Promise<void> {
    this.#open.clear();
    await this.#uploads.drain().catch(() => undefined);
    await this.#stateChain.catch(() => undefined);
    this.#o.cache.clearPending();
  }

  #fail(err: unknown): void {
    if (this.#hasFailed) return;
    this.#hasFailed = true;
    this.#failed = err;
  }

  /**
   * A failed upload or state write breaks the session: its pending blobs may never be durable, so
   * nothing more may be stored or flushed (open a new session to continue).
   */
  #check(): void {
    if (!this.#hasFailed && this.#uploads.error !== undefined) this.#fail(this.#uploads.error);
    if (!this.#hasFailed) return;
    const reason = this.#failed instanceof Error ? this.#failed.message : String(this.#failed);
    throw new RepositoryError('invalid', `write session failed earlier and cannot continue: ${reason}`, {
      cause: this.#failed,
    });
  }
}
