/**
 * MD5 of object bodies in a worker thread, so the thread that reads the bodies (and, in a backup,
 * chunks and encrypts them) does not also hash every byte. Reading a bucket into a local store on a
 * 2-core machine, the MD5 checks were 1.1 s of the main thread's ~10 s, and that thread set the
 * pace (80-95% busy while the S3 server waited on it).
 *
 * The bytes are copied (the caller keeps its buffers: the same bytes go on to the backup) into a
 * shared batch buffer as segments tagged by body; a batch goes to the worker (transferred) when it
 * is full or at the end of the current turn of the event loop, and comes back for reuse. A body's
 * digest is asked for after its last segment, in the same stream of batches, so the worker sees
 * every body's bytes in order. At most MAX_BATCHES batches are out at once: a body that would need
 * another waits for one to come back (`update` returns a promise then).
 *
 * The worker is started on first use and holds the process open only while it has work (it is
 * unref'd when idle). If it cannot start, or has died, new bodies are hashed on the calling thread;
 * the bodies it held fail (update throws, digest rejects) with an error naming the cause: their
 * bytes are gone, the caller must read them again.
 */
import { createHash, type Hash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/** Bytes per batch sent to the worker. */
export const BATCH_BYTES = 1024 * 1024;
/** Batches out at once, at most (memory: MAX_BATCHES x BATCH_BYTES). */
export const MAX_BATCHES = 8;

/** Segment lengths with a special meaning in a batch's segment list. */
const FINAL = -1;
const DROP = -2;

/** What the worker runs (CommonJS, evaluated: the connector packages are bundled into one file). */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const states = new Map();
parentPort.on('message', ({ buffer, segments }) => {
  const bytes = new Uint8Array(buffer);
  const digests = [];
  for (let i = 0; i < segments.length; i += 3) {
    const id = segments[i], start = segments[i + 1], length = segments[i + 2];
    if (length >= 0) {
      let h = states.get(id);
      if (h === undefined) { h = createHash('md5'); states.set(id, h); }
      h.update(bytes.subarray(start, start + length));
    } else {
      const h = states.get(id) ?? createHash('md5');
      states.delete(id);
      if (length === ${FINAL}) digests.push(id, h.digest('hex'));
    }
  }
  parentPort.postMessage({ buffer, digests }, [buffer]);
});
`;

interface Reply {
  readonly buffer: ArrayBuffer;
  readonly digests: (number | string)[];
}

/** One body's MD5. */
export interface BodyMd5 {
  /**
   * Adds `bytes` (copied before it returns or resolves); a promise when it must wait for room, to
   * be awaited before the next update. Throws once the worker has died.
   */
  update(bytes: Uint8Array): Promise<void> | undefined;
  /** The MD5 (hex) of everything added. The body is done with afterwards. */
  digest(): Promise<string>;
  /** Forgets the body (its digest is not wanted). */
  drop(): void;
}

/** Hashes on the calling thread (no worker). */
class InlineMd5 implements BodyMd5 {
  readonly #hash: Hash = createHash('md5');
  update(bytes: Uint8Array): undefined {
    this.#hash.update(bytes);
  }
  digest(): Promise<string> {
    return Promise.resolve(this.#hash.digest('hex'));
  }
  drop(): void {}
}

/** The worker and the batch being filled. */
export class Md5Offload {
  static #shared: Md5Offload | undefined | null = null;
  readonly #worker: Worker;
  #dead: Error | undefined;
  #nextId = 1;
  /** The batch being filled, and its segments. */
  #batch: Uint8Array<ArrayBuffer> | undefined;
  #used = 0;
  #segments: number[] = [];
  #flushScheduled = false;
  /** Batches back from the worker, and how many are out. */
  readonly #free: Uint8Array<ArrayBuffer>[] = [];
  #out = 0;
  readonly #roomWaiters: (() => void)[] = [];
  readonly #digests = new Map<number, { resolve: (hex: string) => void; reject: (err: Error) => void }>();

  /**
   * The process's worker, started on first call; undefined when workers are off
   * (`KLOSET_MD5_WORKER=0`), cannot start, or the worker died.
   */
  static shared(): Md5Offload | undefined {
    if (Md5Offload.#shared === null) {
      Md5Offload.#shared = process.env.KLOSET_MD5_WORKER === '0' ? undefined : Md5Offload.start();
    }
    const offload = Md5Offload.#shared;
    return offload !== undefined && offload.#dead === undefined ? offload : undefined;
  }

  /** A new worker of its own (tests); undefined if it cannot start. */
  static start(): Md5Offload | undefined {
    try {
      return new Md5Offload(new Worker(WORKER_SOURCE, { eval: true }));
    } catch {
      return undefined;
    }
  }

  /** An MD5 for one body: in the shared worker if there is one, else on this thread. */
  static body(): BodyMd5 {
    return Md5Offload.shared()?.body() ?? new InlineMd5();
  }

  private constructor(worker: Worker) {
    this.#worker = worker;
    worker.unref();
    worker.on('message', (reply: Reply) => this.#onReply(reply));
    worker.on('error', (err) => this.#fail(err));
    worker.on('exit', (code) => this.#fail(new Error(`MD5 worker exited with code ${code}`)));
  }

  /** An MD5 for one body, in this worker (on this thread once it has died). */
  body(): BodyMd5 {
    if (this.#dead !== undefined) return new InlineMd5();
    const id = this.#nextId++;
    let done = false;
    /** An update waiting for room: the body's next segment or mark must come after its bytes. */
    let waiting: Promise<void> | undefined;
    const afterWaiting = (then: () => void): void => {
      if (waiting === undefined) then();
      else waiting.then(then, then);
    };
    return {
      update: (bytes) => {
        if (done) throw new Error('MD5: update after digest');
        if (waiting !== undefined) throw new Error('MD5: update before the previous one got room');
        const room = this.#add(id, bytes, 0);
        if (room === undefined) return undefined;
        const settled = room.finally(() => {
          if (waiting === settled) waiting = undefined;
        });
        waiting = settled;
        return settled;
      },
      digest: () => {
        if (done) return Promise.reject(new Error('MD5: digest asked twice'));
        done = true;
        return new Promise<string>((resolve, reject) =>
          afterWaiting(() => {
            if (this.#dead !== undefined) {
              reject(this.#deadError());
              return;
            }
            this.#digests.set(id, { resolve, reject });
            this.#mark(id, FINAL);
          }),
        );
      },
      drop: () => {
        if (done) return;
        done = true;
        afterWaiting(() => {
          if (this.#dead === undefined) this.#mark(id, DROP);
        });
      },
    };
  }

  /** Stops the worker (tests). */
  async close(): Promise<void> {
    this.#fail(new Error('MD5 worker closed'));
    await this.#worker.terminate();
  }

  /** Copies bytes[from..] into batches, waiting for room when MAX_BATCHES are out. */
  #add(id: number, bytes: Uint8Array, from: number): Promise<void> | undefined {
    let at = from;
    while (at < bytes.length) {
      if (this.#dead !== undefined) throw this.#deadError();
      const batch = this.#batch ?? this.#takeBatch();
      if (batch === undefined) {
        return new Promise<void>((resolve) => this.#roomWaiters.push(resolve)).then(() =>
          this.#add(id, bytes, at),
        );
      }
      const n = Math.min(bytes.length - at, batch.length - this.#used);
      batch.set(bytes.subarray(at, at + n), this.#used);
      this.#segments.push(id, this.#used, n);
      this.#used += n;
      at += n;
      if (this.#used === batch.length) this.#send();
      else this.#scheduleFlush();
    }
    return undefined;
  }

  /** Adds a segment without bytes (FINAL or DROP) for `id`; never waits for room. */
  #mark(id: number, kind: number): void {
    this.#segments.push(id, 0, kind);
    this.#scheduleFlush();
  }

  #takeBatch(): Uint8Array<ArrayBuffer> | undefined {
    const free = this.#free.pop();
    if (free !== undefined) {
      this.#batch = free;
    } else if (this.#out + 1 <= MAX_BATCHES) {
      this.#batch = new Uint8Array(BATCH_BYTES);
    } else {
      return undefined;
    }
    this.#out++;
    this.#used = 0;
    return this.#batch;
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      this.#send();
    });
  }

  /** Sends the batch being filled (or, with marks only, an empty one). */
  #send(): void {
    if (this.#segments.length === 0 || this.#dead !== undefined) return;
    let batch = this.#batch;
    if (batch === undefined) {
      // Marks only: an empty buffer carries them (not counted as a batch out).
      batch = new Uint8Array(0);
    }
    const segments = this.#segments;
    this.#segments = [];
    this.#batch = undefined;
    this.#used = 0;
    this.#worker.ref();
    this.#worker.postMessage({ buffer: batch.buffer, segments }, [batch.buffer]);
  }

  #onReply(reply: Reply): void {
    if (reply.buffer.byteLength > 0) {
      this.#out--;
      this.#free.push(new Uint8Array(reply.buffer));
    }
    for (let i = 0; i < reply.digests.length; i += 2) {
      const id = reply.digests[i] as number;
      const waiter = this.#digests.get(id);
      this.#digests.delete(id);
      waiter?.resolve(reply.digests[i + 1] as string);
    }
    if (this.#out === 0 && this.#digests.size === 0 && this.#segments.length === 0) this.#worker.unref();
    while (this.#roomWaiters.length > 0 && (this.#free.length > 0 || this.#out < MAX_BATCHES)) {
      this.#roomWaiters.shift()?.();
    }
  }

  #deadError(): Error {
    return new Error(`MD5 worker failed: ${this.#dead?.message ?? 'unknown'}`, { cause: this.#dead });
  }

  #fail(err: Error): void {
    if (this.#dead !== undefined) return;
    this.#dead = err;
    const failure = this.#deadError();
    for (const w of this.#digests.values()) w.reject(failure);
    this.#digests.clear();
    // Waiting bodies wake up and fail in #add.
    for (const wake of this.#roomWaiters.splice(0)) wake();
  }
}
