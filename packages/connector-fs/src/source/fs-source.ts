/** FsSource: backs up a local directory. */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { Source, SourceInfo, SourceRecord } from '@kloset/connector-contract';
import { walk } from './walk.ts';

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

  /** `root` is resolved against the current directory. */
  constructor(root: string) {
    this.#root = resolve(root);
    this.info = { protocol: 'fs', origin: hostname(), root: this.#root };
  }

  scan(signal?: AbortSignal): AsyncIterable<SourceRecord> {
    return walk(this.#root, signal);
  }

  async close(): Promise<void> {}
}
