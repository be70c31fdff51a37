/**
 * The walk of FsSource in a worker thread (walk-worker.ts): the worker makes the file-system
 * calls (readdir, lstat, readlink, and open/read/fstat/close of small files), this thread only
 * turns its batches into records. Same records, in the same order, as walk.ts.
 */
import { Buffer } from 'node:buffer';
import { Worker } from 'node:worker_threads';
import {
  ConnectorError,
  type EntryPath,
  type EntryType,
  isValidComponent,
  joinPath,
  nameFromBytes,
  type ScanContext,
  type SourceRecord,
} from '@kloset/connector-contract';
import { fsError } from '../fs-errors.ts';
import type { InlineCalls } from '../inline-calls.ts';
import { childPath, type NativePath, shownPath } from '../native-path.ts';
import { errorRecord, type RecordExtra, recordOf } from './entry-record.ts';
import { changed, INLINE_READ_MAX } from './file-content.ts';
import {
  B_CTIME,
  B_INO,
  B_MTIME,
  B_SIZE,
  type BatchMessage,
  BIG_FIELDS,
  CONTENT_GREW,
  CONTENT_MODIFIED,
  CONTENT_SHRANK,
  CTRL_NO_READ,
  CTRL_STOP,
  CTRL_TAKEN,
  CTRL_WAKE_AT,
  F_CONTENT,
  F_CONTENT_LEN,
  F_CONTENT_STATE,
  F_DEPTH,
  F_ENTERED,
  F_GID,
  F_KIND,
  F_LINK,
  F_LINK_LEN,
  F_MODE,
  F_NAME,
  F_NAME_LEN,
  F_UID,
  type FatalMessage,
  FIELDS,
  KIND_DIRECTORY,
  KIND_LSTAT_FAILED,
  KIND_SYMLINK,
  NO_WAKE,
  type WalkMessage,
  type WalkWorkerData,
} from './walk-worker.ts';

/** Tuning of the worker walk. */
export interface WorkerWalkOptions {
  /** Entries per batch. Default 256. */
  readonly batchEntries?: number;
  /** Content bytes per batch (a batch is posted once past it). Default 1 MiB. */
  readonly batchBytes?: number;
  /**
   * Content bytes read ahead and not yet handed to the engine, at most; past it, files are read
   * when opened, on this thread. Default 8 MiB.
   */
  readonly creditBytes?: number;
  /** Batches posted and not yet taken, at most. Default 8. */
  readonly maxInFlight?: number;
  /** ScanContext.excludedDirectories: directories whose content is not listed. */
  readonly excludedDirectories?: string;
}

const TYPES: readonly EntryType[] = ['file', 'directory', 'symlink'];

function workerUrl(): URL {
  // Sources run as .ts (type stripping), the build as .js: the worker file is this file's sibling.
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  return new URL(`./walk-worker.${ext}`, import.meta.url);
}

/** The workers running now (for tests). */
const live = new Set<Worker>();

/** How many walk workers are running (for tests). */
export function liveWalkWorkers(): number {
  return live.size;
}

/** Terminates every walk worker, as if it had died (for tests). */
export async function terminateWalkWorkers(): Promise<void> {
  await Promise.all([...live].map((w) => w.terminate()));
}

/** Starts the worker; undefined when workers cannot be started here. */
export function startWalkWorker(rootAbs: string, options: WorkerWalkOptions = {}): WalkWorker | undefined {
  const data: WalkWorkerData = {
    root: rootAbs,
    control: new SharedArrayBuffer(16),
    credit: new SharedArrayBuffer(8),
    batchEntries: options.batchEntries ?? 256,
    batchBytes: options.batchBytes ?? 1024 * 1024,
    creditBytes: options.creditBytes ?? 8 * 1024 * 1024,
    maxInFlight: options.maxInFlight ?? 8,
    readMax: INLINE_READ_MAX,
    ...(options.excludedDirectories !== undefined
      ? { excludedDirectories: options.excludedDirectories }
      : {}),
  };
  Atomics.store(new Int32Array(data.control), CTRL_WAKE_AT, NO_WAKE);
  let worker: Worker;
  try {
    worker = new Worker(workerUrl(), { workerData: data, stdout: false, stderr: false });
  } catch {
    return undefined;
  }
  return new WalkWorker(worker, data);
}

/** The running worker of one scan: its messages, in order, and its end. */
export class WalkWorker {
  readonly worker: Worker;
  readonly #control: Int32Array;
  readonly #credit: BigInt64Array;
  readonly #queue: WalkMessage[] = [];
  #failure: Error | undefined;
  #exited = false;
  readonly #exit: Promise<void>;
  #wake: (() => void) | undefined;

  constructor(worker: Worker, data: WalkWorkerData) {
    this.worker = worker;
    // The worker keeps the process alive only while this thread waits for it: a scan abandoned
    // without `return()` leaves a worker waiting for its batches to be taken, not a process that
    // never exits.
    worker.unref();
    this.#control = new Int32Array(data.control);
    this.#credit = new BigInt64Array(data.credit);
    worker.on('message', (m: WalkMessage) => {
      this.#queue.push(m);
      this.poke();
    });
    worker.on('error', (err) => {
      this.#failure ??= err;
      this.poke();
    });
    live.add(worker);
    this.#exit = new Promise((resolve) => {
      worker.once('exit', () => {
        live.delete(worker);
        this.#exited = true;
        this.poke();
        resolve();
      });
    });
  }

  /** Wakes a `next` waiting for a message (to see an abort). */
  poke(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** The next message; rejects if the worker failed or ended without `end`, or `signal` aborts. */
  async next(signal: AbortSignal | undefined): Promise<WalkMessage> {
    for (;;) {
      const m = this.#queue.shift();
      if (m) return m;
      if (this.#failure) throw this.#failure;
      if (this.#exited) throw new Error('the worker ended before the walk did');
      signal?.throwIfAborted();
      this.worker.ref();
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      this.worker.unref();
    }
  }

  /** One more batch taken: the worker may post another. */
  taken(): void {
    const taken = Atomics.add(this.#control, CTRL_TAKEN, 1) + 1;
    if (taken >= Atomics.load(this.#control, CTRL_WAKE_AT)) Atomics.notify(this.#control, CTRL_TAKEN);
  }

  /** Whether the worker is to read the contents of small files. */
  readContents(read: boolean): void {
    Atomics.store(this.#control, CTRL_NO_READ, read ? 0 : 1);
  }

  /** `bytes` of read-ahead content handed to the engine: the worker may read as many again. */
  returnCredit(bytes: number): void {
    Atomics.add(this.#credit, 0, BigInt(bytes));
  }

  /** Stops the worker (it closes its directories and ends); resolves once it has exited. */
  async stop(): Promise<void> {
    Atomics.store(this.#control, CTRL_STOP, 1);
    Atomics.notify(this.#control, CTRL_TAKEN);
    if (this.#exited) return;
    // A worker stuck in a system call (a hung network file system) is ended all the same.
    const timer = setTimeout(() => void this.worker.terminate(), 5000);
    try {
      await this.#exit;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** One file in this many is looked up in the previous snapshot. */
const SAMPLE_EVERY = 16;
/** The decision is over the last this many lookups (and waits for a quarter of them). */
const SAMPLES = 32;

/**
 * Tells the worker not to read contents while most files are unchanged since the previous
 * backup (the engine would not open them: reading them would only cost), and to read them again
 * once most are not. One file in SAMPLE_EVERY is looked up in the previous snapshot (the lookups
 * are in path order, the engine's cheapest); a failed lookup counts for nothing (the engine meets
 * the same failure in its own lookups and reports it).
 */
class UnchangedSampler {
  readonly #previous: NonNullable<ScanContext['previous']>;
  readonly #worker: WalkWorker;
  /** The last SAMPLES outcomes, as a ring: 1 unchanged, 0 not. */
  readonly #ring = new Uint8Array(SAMPLES);
  #samples = 0;
  #unchanged = 0;
  #files = 0;
  #reading = true;

  constructor(previous: NonNullable<ScanContext['previous']>, worker: WalkWorker) {
    this.#previous = previous;
    this.#worker = worker;
  }

  file(record: SourceRecord): void {
    if (this.#files++ % SAMPLE_EVERY !== 0) return;
    this.#previous(record.path).then(
      (prev) => {
        const same =
          prev !== undefined &&
          prev.changeToken === record.changeToken &&
          prev.size === record.size &&
          prev.mtime.sec === record.mtime.sec &&
          prev.mtime.nsec === record.mtime.nsec;
        this.#add(same ? 1 : 0);
      },
      () => {},
    );
  }

  #add(outcome: number): void {
    const at = this.#samples++ % SAMPLES;
    this.#unchanged += outcome - (this.#samples > SAMPLES ? this.#ring[at]! : 0);
    this.#ring[at] = outcome;
    const n = Math.min(this.#samples, SAMPLES);
    if (n < SAMPLES / 4) return;
    const reading = this.#unchanged * 2 <= n;
    if (reading !== this.#reading) {
      this.#reading = reading;
      this.#worker.readContents(reading);
    }
  }
}

/** The error a fatal message stands for, as walk.ts throws it. */
function fatalError(m: FatalMessage, rootAbs: string): ConnectorError {
  if (m.notDirectory) {
    return new ConnectorError('invalid', `source ${rootAbs} is not a directory`, {
      op: 'scan',
      key: rootAbs,
    });
  }
  if (m.op === 'scan' && m.code === 'ENOENT') {
    return new ConnectorError('not_found', `source directory ${rootAbs} does not exist`, {
      op: 'scan',
      key: rootAbs,
    });
  }
  const err = Object.assign(new Error(m.message), m.code === undefined ? {} : { code: m.code });
  const path = m.op === 'readdir' && m.path ? shownPath(Buffer.from(m.path)) : rootAbs;
  return fsError(err, m.op, path);
}

/**
 * walk(rootAbs) through `worker` (from startWalkWorker): the same records, in the same order.
 * The worker is stopped when the walk ends, fails, or its consumer stops early; a worker that
 * fails fails the walk with an error naming the source.
 */
export async function* workerWalk(
  rootAbs: string,
  worker: WalkWorker,
  signal: AbortSignal | undefined,
  calls: InlineCalls,
  context?: ScanContext,
): AsyncGenerator<SourceRecord> {
  const sampler = context?.previous ? new UnchangedSampler(context.previous, worker) : undefined;
  /** The path and native path of the directory at each depth (the root at 0). */
  const paths: EntryPath[] = [];
  const natives: NativePath[] = [];
  const onAbort = (): void => worker.poke();
  signal?.addEventListener('abort', onAbort);
  try {
    signal?.throwIfAborted();
    for (;;) {
      let m: WalkMessage;
      try {
        m = await worker.next(signal);
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        const why = err instanceof Error ? err.message : String(err);
        throw new ConnectorError('transient', `scan of ${rootAbs}: the walk worker failed: ${why}`, {
          op: 'scan',
          key: rootAbs,
        });
      }
      if (m.type === 'end') return;
      if (m.type === 'fatal') throw fatalError(m, rootAbs);
      const records = decode(m, rootAbs, paths, natives, worker, calls);
      worker.taken();
      for (const record of records) {
        if (record === undefined) continue;
        signal?.throwIfAborted();
        if (sampler !== undefined && record.type === 'file') sampler.file(record);
        yield record;
      }
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await worker.stop();
  }
}

/** The records of a batch (undefined for names that are not valid path components). */
function decode(
  m: BatchMessage,
  rootAbs: string,
  paths: EntryPath[],
  natives: NativePath[],
  worker: WalkWorker,
  calls: InlineCalls,
): (SourceRecord | undefined)[] {
  const { fields: f, bigs: b, count } = m;
  const bytes = new Uint8Array(m.bytes);
  const errors = new Map(m.errors);
  const out: (SourceRecord | undefined)[] = new Array(count);
  const returnCredit = (n: number): void => worker.returnCredit(n);
  for (let i = 0; i < count; i++) {
    const o = i * FIELDS;
    const ob = i * BIG_FIELDS;
    const kind = f[o + F_KIND]!;
    const depth = f[o + F_DEPTH]!;
    const error = errors.get(i);
    const type = TYPES[kind & 3]!;
    let path: EntryPath;
    let absPath: NativePath;
    let nameBytes: Uint8Array | undefined;
    if (depth < 0) {
      path = '/';
      absPath = rootAbs;
    } else {
      const start = f[o + F_NAME]!;
      const raw = bytes.subarray(start, start + f[o + F_NAME_LEN]!);
      const { name, escaped } = nameFromBytes(raw);
      if (!isValidComponent(name)) {
        out[i] = undefined;
        continue;
      }
      nameBytes = escaped ? Buffer.from(raw) : undefined; // a copy: the batch is not kept
      path = joinPath(paths[depth]!, name);
      absPath = childPath(natives[depth]!, nameBytes ?? name);
    }
    if (f[o + F_ENTERED] === 1) {
      paths[depth + 1] = path;
      natives[depth + 1] = absPath;
    }
    if ((kind & KIND_LSTAT_FAILED) !== 0) {
      out[i] = errorRecord(path, absPath, type, error ?? 'lstat failed', nameBytes);
      continue;
    }
    const stat = {
      size: b[ob + B_SIZE]!,
      mtimeNs: b[ob + B_MTIME]!,
      ctimeNs: b[ob + B_CTIME]!,
      ino: b[ob + B_INO]!,
      mode: f[o + F_MODE]!,
      uid: f[o + F_UID]!,
      gid: f[o + F_GID]!,
    };
    let extra: RecordExtra = { nameBytes, ...(error === undefined ? {} : { error }) };
    if (kind === KIND_SYMLINK && error === undefined) {
      const target = bytes.subarray(f[o + F_LINK]!, f[o + F_LINK]! + f[o + F_LINK_LEN]!);
      const { name: linkTarget, escaped } = nameFromBytes(target);
      extra = { nameBytes, linkTarget, ...(escaped ? { linkTargetBytes: Buffer.from(target) } : {}) };
    }
    const contentLen = f[o + F_CONTENT_LEN]!;
    if (contentLen < 0 || kind === KIND_DIRECTORY) {
      out[i] = recordOf(path, absPath, type, stat, calls, extra);
      continue;
    }
    // A copy of its own (from Node's buffer pool when small): the batch's buffer is not kept.
    const content = Buffer.allocUnsafe(contentLen);
    content.set(bytes.subarray(f[o + F_CONTENT]!, f[o + F_CONTENT]! + contentLen));
    const state = f[o + F_CONTENT_STATE]!;
    const size = Number(stat.size);
    const shown = state === 0 ? '' : shownPath(absPath);
    const contentError =
      state === CONTENT_SHRANK
        ? changed(shown, `shrank while being read: ${contentLen} of ${size} bytes`)
        : state === CONTENT_GREW
          ? changed(shown, `grew while being read (size ${size} when scanned or opened)`)
          : state === CONTENT_MODIFIED
            ? changed(shown, 'was modified while being read')
            : undefined;
    out[i] = recordOf(path, absPath, type, stat, calls, extra, {
      bytes: content,
      error: contentError,
      taken: returnCredit,
    });
  }
  return out;
}
