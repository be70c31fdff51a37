/** FsSource: backs up a local directory. */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { ScanContext, Source, SourceInfo, SourceRecord } from '@kloset/connector-contract';
import { InlineCalls, type InlineCallsOptions } from '../inline-calls.ts';
import { walk } from './walk.ts';
import { startWalkWorker, type WorkerWalkOptions, workerWalk } from './worker-walk.ts';

/** Options of FsSource. */
export interface FsSourceOptions {
  /**
   * When lstat, directory reads and the reads of small files run on the calling thread, when in
   * the thread pool (see InlineCalls).
   */
  readonly inlineCalls?: InlineCallsOptions;
  /**
   * Walk in a worker thread (readdir, lstat, readlink and the reads of files of up to 64 KiB
   * there, each right after its lstat; this thread only builds the records): `true` or its
   * tuning, `false` to walk on this thread. Default: true unless KLOSET_FS_WORKER is `0`. Where a
   * worker cannot start, the walk runs on this thread. A first backup of 100k files of 100 B
   * (2 cores): 8.0-10.1 s on this thread, 5.5-5.7 s with the worker (12.5-13.0 s against
   * 9.7-10.9 s on cores busy with other work); the main thread's CPU went from 8.4 to 5.8 s (the
   * fs calls, 3 s, went to the worker; building the records costs 0.3 s).
   */
  readonly worker?: boolean | WorkerWalkOptions;
}

/**
 * A Source over a local directory tree. `scan` walks it depth first with `opendir` (streaming:
 * memory does not grow with the number of entries) and yields directories, files and symlinks
 * (not followed) with mode, nanosecond mtime, uid/gid, size and a change token (ctime, inode,
 * size). With the worker (the default), the content of a file of up to 64 KiB is read right after
 * its lstat, so `open()` yields the file as scanned (a change found by that read is `changed`,
 * as below; a second `open()` reads the file as it is then); larger files are read when opened.
 * Unreadable or vanished entries are yielded with `error`; sockets, fifos and devices are
 * skipped. A directory that `context.excludedDirectories` matches is yielded, but what is under
 * it is not listed. A missing root fails the scan with `not_found`. `info` is
 * `{ protocol: 'fs', origin: <host name>, root: <absolute path> }`.
 */
export class FsSource implements Source {
  readonly info: SourceInfo;
  readonly #root: string;
  readonly #inline: InlineCallsOptions | undefined;
  readonly #worker: WorkerWalkOptions | undefined;
  /**
   * Files the engine reads at once. 16 rather than the engine's 8: most files of a tree are small
   * (one chunk, compressed in a worker), so more in flight hide the round trips; the engine still
   * reads at most 8 files larger than a chunk at once, so memory is unchanged. Scale-1 data set,
   * quiet machine: 9.2-11.4 s (mean 9.8) against 9.3-12.6 s (mean 10.8) at 8.
   */
  readonly concurrency = 16;

  /** `root` is resolved against the current directory. */
  constructor(root: string, options: FsSourceOptions = {}) {
    this.#root = resolve(root);
    this.#inline = options.inlineCalls;
    const worker = options.worker ?? process.env.KLOSET_FS_WORKER !== '0';
    this.#worker = worker === false ? undefined : worker === true ? {} : worker;
    this.info = { protocol: 'fs', origin: hostname(), root: this.#root };
  }

  /**
   * With the worker, `context.previous` is looked up for one file in 16: while most are unchanged
   * since the previous backup, small files are not read ahead (the engine would not open them).
   */
  scan(signal?: AbortSignal, context?: ScanContext): AsyncIterable<SourceRecord> {
    const calls = new InlineCalls(this.#inline);
    const skip = context?.excludedDirectories;
    if (this.#worker === undefined) return walk(this.#root, signal, calls, skipper(skip));
    return scanInWorker(this.#root, signal, calls, this.#worker, context);
  }

  async close(): Promise<void> {}
}

/** The test of ScanContext.excludedDirectories: a directory whose content is not listed. */
function skipper(source: string | undefined): ((path: string) => boolean) | undefined {
  if (source === undefined) return undefined;
  const re = new RegExp(source, 'u');
  return (path) => re.test(path);
}

/** The walk in a worker started at the first `next()`; on this thread if none can start. */
async function* scanInWorker(
  root: string,
  signal: AbortSignal | undefined,
  calls: InlineCalls,
  options: WorkerWalkOptions,
  context: ScanContext | undefined,
): AsyncGenerator<SourceRecord> {
  signal?.throwIfAborted();
  const skip = context?.excludedDirectories;
  const worker = startWalkWorker(
    root,
    skip === undefined ? options : { ...options, excludedDirectories: skip },
  );
  if (worker === undefined) yield* walk(root, signal, calls, skipper(skip));
  else yield* workerWalk(root, worker, signal, calls, context);
}
