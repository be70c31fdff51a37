/**
 * Crypto worker threads, shared by every repository of the process: reads hand them the bytes of a
 * ranged read (transferred, not copied) and get the verified plaintexts back, so that decryption,
 * decompression and MAC checks run beside the main thread instead of on it; writes hand them
 * small payloads to compress (a copy), as node:zlib's set-up per call costs more than the work.
 *
 * Workers start on first use, hold the process open only while they have work (unref'd when
 * idle), and requests sent in one tick go in one message per worker. A worker that dies fails its
 * requests and is not used again; when none is left, `openBlobs` returns undefined and callers do
 * the work themselves. `KLOSET_CRYPTO_WORKERS` sets how many workers run (0: none); the default is
 * one per core beyond the first, at most 4 (one on a 2-core machine).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { CompressionCodec, EncodedPayload } from '../crypto/compression.ts';
import type { CompressReply, OpenReply, WorkerReply, WorkerRequest } from './messages.ts';
import type { OpenBlobsRequest, OpenOutcome } from './open-blobs.ts';

/** The outcome of `openBlobs`: one per blob, and the buffer of the read, back from the worker. */
export interface OpenedRead {
  readonly outcomes: OpenOutcome[];
  /** The ArrayBuffer the caller gave up, transferred back (plaintexts in it are views of it). */
  readonly buffer: ArrayBuffer;
}

interface Pending {
  /** Takes the reply to this request (an error reply is turned into `reject` before). */
  readonly settle: (reply: OpenReply | CompressReply) => void;
  readonly reject: (err: Error) => void;
}

interface Slot {
  readonly worker: Worker;
  readonly pending: Map<number, Pending>;
  queue: { req: WorkerRequest; transfer: ArrayBuffer[] }[];
  dead: boolean;
}

/** Workers to start: KLOSET_CRYPTO_WORKERS, else one per core beyond the first (1 to 4). */
export function cryptoWorkerCount(): number {
  const configured = process.env.KLOSET_CRYPTO_WORKERS;
  if (configured !== undefined && configured !== '') {
    const n = Number(configured);
    if (Number.isInteger(n) && n >= 0) return Math.min(n, 16);
  }
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

function workerUrl(): URL {
  // Sources run as .ts (type stripping), the build as .js: the worker file is this file's sibling.
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  return new URL(`./crypto-worker.${ext}`, import.meta.url);
}

/** A pool of crypto workers. */
export class CryptoPool {
  static #shared: CryptoPool | undefined | null = null;
  readonly #slots: Slot[] = [];
  #nextId = 0;
  #flushScheduled = false;

  /** The process-wide pool, started on first call; undefined if workers are off or cannot start. */
  static shared(): CryptoPool | undefined {
    if (CryptoPool.#shared === null) {
      const n = cryptoWorkerCount();
      const pool = n === 0 ? undefined : new CryptoPool(n);
      CryptoPool.#shared = pool?.available ? pool : undefined;
    }
    return CryptoPool.#shared;
  }

  private constructor(count: number) {
    for (let i = 0; i < count; i++) {
      let worker: Worker;
      try {
        worker = new Worker(workerUrl());
      } catch {
        break;
      }
      const slot: Slot = { worker, pending: new Map(), queue: [], dead: false };
      worker.unref();
      worker.on('message', (reply: WorkerReply) => this.#onReply(slot, reply));
      worker.on('error', (err) => this.#fail(slot, err));
      worker.on('exit', (code) => this.#fail(slot, new Error(`crypto worker exited with code ${code}`)));
      this.#slots.push(slot);
    }
  }

  /** True while at least one worker is alive. */
  get available(): boolean {
    return this.#slots.some((s) => !s.dead);
  }

  /**
   * Opens the blobs of `req` in `bytes`, which the caller gives up (its ArrayBuffer is transferred
   * when `bytes` spans all of it, else copied first). Undefined when no worker is alive.
   */
  openBlobs(bytes: Uint8Array, req: OpenBlobsRequest): Promise<OpenedRead> | undefined {
    const own = transferable(bytes);
    return this.#send(
      (id) => ({
        op: 'open',
        id,
        buffer: own.buffer,
        byteOffset: own.byteOffset,
        byteLength: own.byteLength,
        open: req,
      }),
      [own.buffer],
      (reply) => {
        if (reply.op !== 'open') throw new Error(`crypto worker: ${reply.op} reply to an open request`);
        const outcomes = reply.results.map((r): OpenOutcome => {
          if (!r.ok) return { ok: false, reason: r.reason };
          return { ok: true, data: new Uint8Array(r.inBuffer ? reply.buffer : r.buffer, r.start, r.length) };
        });
        return { outcomes, buffer: reply.buffer };
      },
    );
  }

  /**
   * compressIfPays(data, 'zstd', { level }) in a worker, on a copy of `data` (the caller keeps
   * `data`, which is the body when compression does not pay). Undefined when no worker is alive.
   */
  compress(data: Uint8Array, level: number): Promise<EncodedPayload> | undefined {
    const copy = data.slice();
    return this.#send(
      (id) => ({
        op: 'compress',
        id,
        buffer: copy.buffer,
        byteOffset: 0,
        byteLength: copy.byteLength,
        level,
      }),
      [copy.buffer],
      (reply): EncodedPayload => {
        if (reply.op !== 'compress')
          throw new Error(`crypto worker: ${reply.op} reply to a compress request`);
        if (!('body' in reply)) return { codec: 0, body: data };
        return { codec: reply.codec as CompressionCodec, body: new Uint8Array(reply.body) };
      },
    );
  }

  /** Queues the request `make(id)` to the least busy worker; `read` turns its reply into the result. */
  #send<T>(
    make: (id: number) => WorkerRequest,
    transfer: ArrayBuffer[],
    read: (reply: OpenReply | CompressReply) => T,
  ): Promise<T> | undefined {
    const slot = this.#pick();
    if (slot === undefined) return undefined;
    const id = this.#nextId++;
    const request = make(id);
    return new Promise<T>((resolve, reject) => {
      if (slot.pending.size === 0) slot.worker.ref();
      const settle = (reply: OpenReply | CompressReply) => {
        try {
          resolve(read(reply));
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      };
      slot.pending.set(id, { settle, reject });
      slot.queue.push({ req: request, transfer });
      this.#scheduleFlush();
    });
  }

  /**
   * True when every live worker already has `depth` requests in flight: a caller that would
   * otherwise wait for them may do the work on its own thread (the main thread is often idle
   * while a lone worker is the bottleneck, e.g. on 2 cores).
   */
  saturated(depth: number): boolean {
    return !this.#slots.some((s) => !s.dead && s.pending.size < depth);
  }

  /** The live worker with the fewest requests in flight. */
  #pick(): Slot | undefined {
    let best: Slot | undefined;
    for (const s of this.#slots) {
      if (!s.dead && (best === undefined || s.pending.size < best.pending.size)) best = s;
    }
    return best;
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(() => {
      this.#flushScheduled = false;
      for (const s of this.#slots) {
        if (s.queue.length === 0 || s.dead) continue;
        const batch = s.queue;
        s.queue = [];
        s.worker.postMessage(
          batch.map((b) => b.req),
          batch.flatMap((b) => b.transfer),
        );
      }
    });
  }

  #onReply(slot: Slot, reply: WorkerReply): void {
    const p = slot.pending.get(reply.id);
    if (p === undefined) return;
    slot.pending.delete(reply.id);
    if (slot.pending.size === 0) slot.worker.unref();
    if (reply.op === 'error') p.reject(new Error(`crypto worker: ${reply.error}`));
    else p.settle(reply);
  }

  #fail(slot: Slot, err: Error): void {
    if (slot.dead) return;
    slot.dead = true;
    for (const p of slot.pending.values()) p.reject(err);
    slot.pending.clear();
    for (const q of slot.queue) q.transfer.length = 0;
    slot.queue = [];
  }
}

/** `bytes` as a whole ArrayBuffer that can be transferred: itself when it spans one, else a copy. */
function transferable(bytes: Uint8Array): { buffer: ArrayBuffer; byteOffset: number; byteLength: number } {
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  const own = whole && bytes.buffer instanceof ArrayBuffer ? bytes : bytes.slice();
  return { buffer: own.buffer as ArrayBuffer, byteOffset: own.byteOffset, byteLength: own.byteLength };
}
