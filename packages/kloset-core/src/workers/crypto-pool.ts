/**
 * Crypto worker threads, shared by every repository of the process: reads hand them the bytes of a
 * ranged read (transferred, not copied) and get the verified plaintexts back, so that decryption,
 * decompression and MAC checks run beside the main thread instead of on it; writes hand them
 * small payloads to compress (a copy), as node:zlib's set-up per call costs more than the work.
 *
 * The threads are a piscina pool (crypto-worker.ts is the task), started on first use; idle
 * workers do not hold the process open. A worker that dies fails its tasks and piscina starts
 * another; a pool that reports an error of its own is not used again, and then `openBlobs`
 * returns undefined and callers do the work themselves. `KLOSET_CRYPTO_WORKERS` sets how many
 * workers run (0: none); the default is one per core beyond the first, at most 4 (one on a
 * 2-core machine).
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { CompressionCodec, EncodedPayload } from '../crypto/compression.ts';
import type { CompressReply, OpenReply, WorkerReply, WorkerRequest } from './messages.ts';
import type { OpenBlobsRequest, OpenOutcome } from './open-blobs.ts';

/** The outcome of `openBlobs`: one per blob, and the buffer of the read, back from the worker. */
export interface OpenedRead {
  readonly outcomes: OpenOutcome[];
  /** The ArrayBuffer the caller gave up, transferred back (plaintexts in it are views of it). */
  readonly buffer: ArrayBuffer;
}

/**
 * Tasks sent ahead to one worker: it runs them one after the other, so the next one is there when
 * one ends (piscina's default, one at a time, waits a round trip between tasks).
 */
const TASKS_PER_WORKER = 16;

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
  readonly #pool: Piscina<WorkerRequest, WorkerReply>;
  readonly #threads: number;
  #inFlight = 0;
  #broken = false;

  /** The process-wide pool, started on first call; undefined if workers are off or cannot start. */
  static shared(): CryptoPool | undefined {
    if (CryptoPool.#shared === null) {
      const n = cryptoWorkerCount();
      let pool: CryptoPool | undefined;
      try {
        pool = n === 0 ? undefined : new CryptoPool(n);
      } catch {
        pool = undefined;
      }
      CryptoPool.#shared = pool;
    }
    return CryptoPool.#shared;
  }

  private constructor(count: number) {
    this.#threads = count;
    this.#pool = new Piscina({
      filename: workerUrl().href,
      minThreads: count,
      maxThreads: count,
      idleTimeout: 60_000,
      concurrentTasksPerWorker: TASKS_PER_WORKER,
    });
    this.#pool.on('error', () => {
      this.#broken = true;
    });
  }

  /** True while the pool can take tasks. */
  get available(): boolean {
    return !this.#broken;
  }

  /**
   * Opens the blobs of `req` in `bytes`, which the caller gives up (its ArrayBuffer is transferred
   * when `bytes` spans all of it, else copied first). Undefined when no worker is alive.
   */
  openBlobs(bytes: Uint8Array, req: OpenBlobsRequest): Promise<OpenedRead> | undefined {
    const own = transferable(bytes);
    return this.#run(
      { op: 'open', buffer: own.buffer, byteOffset: own.byteOffset, byteLength: own.byteLength, open: req },
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
    // A copy of its own (Buffer's `slice` is a view: transferring its ArrayBuffer would take the
    // caller's memory, e.g. a source's read buffer, and send the wrong bytes).
    const copy = copyBytes(data);
    return this.#run(
      { op: 'compress', buffer: copy.buffer, byteOffset: 0, byteLength: copy.byteLength, level },
      [copy.buffer],
      (reply): EncodedPayload => {
        if (reply.op !== 'compress')
          throw new Error(`crypto worker: ${reply.op} reply to a compress request`);
        if (!('body' in reply)) return { codec: 0, body: data };
        return { codec: reply.codec as CompressionCodec, body: new Uint8Array(reply.body) };
      },
    );
  }

  /** Runs `request` in a worker; `read` turns its reply into the result. */
  #run<T>(
    request: WorkerRequest,
    transfer: ArrayBuffer[],
    read: (reply: OpenReply | CompressReply) => T,
  ): Promise<T> | undefined {
    if (this.#broken) return undefined;
    this.#inFlight++;
    return this.#pool.run(request, { transferList: transfer }).then(
      (reply) => {
        this.#inFlight--;
        return read(reply);
      },
      (err: unknown) => {
        this.#inFlight--;
        throw new Error(`crypto worker: ${err instanceof Error ? err.message : String(err)}`);
      },
    );
  }

  /**
   * True when the workers already have `depth` requests each in flight: a caller that would
   * otherwise wait for them may do the work on its own thread (the main thread is often idle
   * while a lone worker is the bottleneck, e.g. on 2 cores).
   */
  saturated(depth: number): boolean {
    return this.#broken || this.#inFlight >= depth * this.#threads;
  }
}

/** A copy of `bytes` in an ArrayBuffer of its own (for a Buffer too, whose `slice` is a view). */
function copyBytes(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes);
}

/** `bytes` as a whole ArrayBuffer that can be transferred: itself when it spans one, else a copy. */
function transferable(bytes: Uint8Array): { buffer: ArrayBuffer; byteOffset: number; byteLength: number } {
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  const own = whole && bytes.buffer instanceof ArrayBuffer ? bytes : copyBytes(bytes);
  return { buffer: own.buffer as ArrayBuffer, byteOffset: own.byteOffset, byteLength: own.byteLength };
}
