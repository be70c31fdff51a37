/** FsSource: backs up a local directory. */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { Source, SourceInfo, SourceRecord } from '@kloset/connector-contract';
import { InlineCalls, type InlineCallsOptions } from '../inline-calls.ts';
import { walk } from './walk.ts';

/** Options of FsSource. */
export interface FsSourceOptions {
  /**
   * When lstat, directory reads and the reads of small files run on the calling thread, when in
   * the thread pool (see InlineCalls).
   */
  readonly inlineCalls?: InlineCallsOptions;
}

/**
 * A Source over a local directory tree. `scan` walks it depth first with `opendir` (streaming:
 * memory does not grow with the number of entries) and yields directories, files and symlinks
 * (not followed) with mode, nanosecond mtime, uid/gid, size and a change token (ctime, inode,
 * size). Unreadable or vanished entries are yielded with `error`; sockets, fifos and devices are
 * skipped. A missing root fails the scan with `not_found`. `info` is
 * `{ protocol: 'fs', origin: <host name>, root: <absolute path> }`.
 */
export class FsSource implements Source {
  readonly info: SourceInfo;
  readonly #root: string;
  readonly #inline: InlineCallsOptions | undefined;
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
    this.info = { protocol: 'fs', origin: hostname(), root: this.#root };
  }

  scan(signal?: AbortSignal): AsyncIterable<SourceRecord> {
    return walk(this.#root, signal, new InlineCalls(this.#inline));
  }

  async close(): Promise<void> {}
}
