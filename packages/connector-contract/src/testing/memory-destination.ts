/** A Destination that keeps what it is given in memory: for unit tests of restores. */
import type { Destination, ExistingEntry, WriteOptions, WriteResult } from '../destination/destination.ts';
import { isValidPath, parentPath } from '../source/path.ts';
import type { ContentStream, EntryAttributes, EntryPath } from '../source/record.ts';

/** An entry a MemoryDestination received, with the content of files. */
export interface WrittenEntry {
  readonly attributes: EntryAttributes;
  readonly bytes?: Uint8Array;
}

/**
 * A Destination keeping every written entry in `entries`. It checks what the contract asks of
 * the engine: a valid path, the parent written before (the root `/` first), content of exactly
 * `size` bytes for files and none for others, at most `concurrency` writes at once. Violations
 * resolve with `ok: false` (and are counted in `violations`). A throwing content stream makes
 * `write` reject with that error and keeps nothing. `stat` and `readExisting` see `entries` (which
 * a test may fill beforehand, as content that exists before a restore); `createOnly` is honoured.
 * With `versioned`, it keeps versions (`keepsVersions`): `history` lists every file written and
 * every `remove` (a delete marker) per path, in order; two writes of one path at once are a
 * violation. `latencyMs` delays each file write and remove (by path), so that writes overlap.
 */
export class MemoryDestination implements Destination {
  readonly location: string;
  readonly concurrency: number;
  /** Each chunk is copied as it comes. */
  readonly releasesChunks = true;
  /** Written entries by path. */
  readonly entries = new Map<EntryPath, WrittenEntry>();
  /** One line per contract violation seen. */
  readonly violations: string[] = [];
  /** Most writes seen in flight at once. */
  maxInFlight = 0;
  /** Calls of readWritten so far. */
  readWrittenCalls = 0;
  /** Calls of write so far, and of readExisting. */
  writeCalls = 0;
  readExistingCalls = 0;
  /**
   * Per path, every file written (its entry) and every `remove` (undefined), in order. Kept
   * whether `versioned` or not.
   */
  readonly history = new Map<EntryPath, (WrittenEntry | undefined)[]>();
  finished = false;
  closed = false;
  #inFlight = 0;
  readonly #versioned: boolean;
  readonly #latencyMs: ((path: EntryPath) => number) | undefined;
  /** Paths of file writes and removes in flight. */
  readonly #busy = new Set<EntryPath>();

  constructor(
    options: {
      location?: string;
      concurrency?: number;
      versioned?: boolean;
      latencyMs?: (path: EntryPath) => number;
    } = {},
  ) {
    this.location = options.location ?? 'memory://destination';
    this.concurrency = options.concurrency ?? 4;
    this.#versioned = options.versioned === true;
    this.#latencyMs = options.latencyMs;
  }

  async keepsVersions(): Promise<boolean> {
    return this.#versioned;
  }

  /** Removes the file at `entry.path` (a delete marker in `history`). */
  async remove(entry: EntryAttributes): Promise<WriteResult> {
    this.writeCalls++;
    const done = await this.#enter(entry);
    try {
      const problem = this.#check(entry, undefined, true);
      if (problem) {
        this.violations.push(`${entry.path}: ${problem}`);
        return { path: entry.path, ok: false, error: problem };
      }
      this.entries.delete(entry.path);
      this.#record(entry.path, undefined);
      return { path: entry.path, ok: true };
    } finally {
      done();
    }
  }

  /** Counts a write in flight (and its path, for files), after the path's latency; returns its end. */
  async #enter(entry: EntryAttributes): Promise<() => void> {
    this.#inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.#inFlight);
    const file = entry.type !== 'directory';
    if (file && this.#busy.has(entry.path)) this.violations.push(`${entry.path}: two writes at once`);
    if (file) this.#busy.add(entry.path);
    const ms = this.#latencyMs?.(entry.path) ?? 0;
    if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
    return () => {
      this.#inFlight--;
      if (file) this.#busy.delete(entry.path);
    };
  }

  #record(path: EntryPath, written: WrittenEntry | undefined): void {
    const list = this.history.get(path);
    if (list === undefined) this.history.set(path, [written]);
    else list.push(written);
  }

  async write(entry: EntryAttributes, content?: ContentStream, options?: WriteOptions): Promise<WriteResult> {
    this.writeCalls++;
    if (options?.createOnly === true && entry.type !== 'directory' && this.entries.has(entry.path)) {
      return { path: entry.path, ok: false, exists: true, error: `${entry.path} exists: not replaced` };
    }
    const done = await this.#enter(entry);
    try {
      const problem = this.#check(entry, content);
      if (problem) {
        this.violations.push(`${entry.path}: ${problem}`);
        return { path: entry.path, ok: false, error: problem };
      }
      let bytes: Uint8Array | undefined;
      if (content) {
        const chunks: Uint8Array[] = [];
        let total = 0;
        for await (const chunk of content) {
          chunks.push(chunk.slice());
          total += chunk.length;
        }
        if (total !== entry.size) {
          const error = `content of ${entry.path} has ${total} bytes, expected ${entry.size}`;
          this.violations.push(error);
          return { path: entry.path, ok: false, error };
        }
        bytes = new Uint8Array(total);
        let off = 0;
        for (const c of chunks) {
          bytes.set(c, off);
          off += c.length;
        }
      }
      const written = bytes ? { attributes: entry, bytes } : { attributes: entry };
      this.entries.set(entry.path, written);
      if (entry.type !== 'directory') this.#record(entry.path, written);
      return { path: entry.path, ok: true };
    } finally {
      done();
    }
  }

  /** Bytes of a written file (undefined for anything else); counts the calls. */
  async readWritten(path: EntryPath, offset: number, into: Uint8Array): Promise<Uint8Array | undefined> {
    this.readWrittenCalls++;
    const bytes = this.entries.get(path)?.bytes;
    if (bytes === undefined || offset < 0 || offset + into.length > bytes.length) return undefined;
    into.set(bytes.subarray(offset, offset + into.length));
    return into;
  }

  /** What `entries` holds at `entry.path`. */
  async stat(entry: EntryAttributes): Promise<ExistingEntry | undefined> {
    const e = this.entries.get(entry.path);
    if (e === undefined) return undefined;
    const { type, linkTarget } = e.attributes;
    return { type, size: e.bytes?.length ?? 0, ...(linkTarget === undefined ? {} : { linkTarget }) };
  }

  /** Bytes of the file `entries` holds at `entry.path`; counts the calls. */
  async readExisting(
    entry: EntryAttributes,
    offset: number,
    into: Uint8Array,
  ): Promise<Uint8Array | undefined> {
    this.readExistingCalls++;
    const bytes = this.entries.get(entry.path)?.bytes;
    if (bytes === undefined || offset < 0 || offset + into.length > bytes.length) return undefined;
    into.set(bytes.subarray(offset, offset + into.length));
    return into;
  }

  async finish(): Promise<void> {
    this.finished = true;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  #check(entry: EntryAttributes, content: ContentStream | undefined, removal = false): string | undefined {
    if (this.#inFlight > this.concurrency) return `more than ${this.concurrency} writes at once`;
    if (!isValidPath(entry.path)) return `invalid path ${JSON.stringify(entry.path)}`;
    if (entry.path !== '/') {
      const parent = this.entries.get(parentPath(entry.path));
      if (parent?.attributes.type !== 'directory')
        return `parent ${parentPath(entry.path)} not written first`;
    }
    if (removal) return entry.type === 'file' ? undefined : `remove of a ${entry.type}`;
    if (entry.type === 'file' && !content) return 'file without content';
    if (entry.type !== 'file' && content) return `${entry.type} with content`;
    return undefined;
  }
}
