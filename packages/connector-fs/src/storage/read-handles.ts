/**
 * Open descriptors of recently read files, so that a restore reading one packfile in many ranges
 * pays one open instead of an open, an fstat and a close per range. Bounded (least recently used
 * idle descriptors are closed beyond `limit`); a descriptor being read is never closed under its
 * reader. Callers `forget` a path they replace or delete: a descriptor keeps reading the file it
 * opened, so only immutable files (packfiles) should be read through this cache.
 */
import { fstatSync } from 'node:fs';
import { closeQuietly, openToRead, readInto } from '../fd-io.ts';

/** An open file and its size when opened. */
export interface ReadHandle {
  readonly fd: number;
  readonly size: number;
}

interface Entry {
  readonly opened: Promise<ReadHandle>;
  readers: number;
  /** Dropped from the cache (forgotten or evicted): closed when its last reader is done. */
  dropped: boolean;
  closed: boolean;
}

/** Opens `path` to read and fstats it. */
export async function openWithSize(path: string): Promise<ReadHandle> {
  const fd = await openToRead(path);
  try {
    return { fd, size: fstatSync(fd).size };
  } catch (err) {
    closeQuietly(fd);
    throw err;
  }
}

/**
 * Reads `length` bytes at `position` into `into` (when it has room) or a new buffer; fewer only
 * at the end of the file.
 */
export async function readAt(
  fd: number,
  position: number,
  length: number,
  into?: Uint8Array,
): Promise<Uint8Array> {
  const out =
    into !== undefined && into.length >= length ? into.subarray(0, length) : Buffer.allocUnsafeSlow(length);
  const n = await readInto(fd, out, position);
  return n === length ? out : out.subarray(0, n);
}

/** A bounded cache of read descriptors by path. */
export class ReadHandles {
  readonly #limit: number;
  /** In least recently used order. */
  readonly #entries = new Map<string, Entry>();

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Runs `fn` with an open descriptor of `path` (opening it if needed). */
  async use<T>(path: string, fn: (handle: ReadHandle) => Promise<T>): Promise<T> {
    let entry = this.#entries.get(path);
    if (entry) this.#entries.delete(path);
    else entry = { opened: openWithSize(path), readers: 0, dropped: false, closed: false };
    this.#entries.set(path, entry);
    entry.readers++; // before evicting, so this entry is never closed under us
    this.#evict();
    try {
      const handle = await entry.opened;
      return await fn(handle);
    } catch (err) {
      this.forget(path);
      throw err;
    } finally {
      entry.readers--;
      this.#closeIfDone(entry);
    }
  }

  /** Drops the descriptor of `path`, if any (the file is being replaced or deleted). */
  forget(path: string): void {
    const entry = this.#entries.get(path);
    if (!entry) return;
    this.#entries.delete(path);
    entry.dropped = true;
    this.#closeIfDone(entry);
  }

  /** Closes every descriptor once its readers are done. */
  clear(): void {
    for (const path of [...this.#entries.keys()]) this.forget(path);
  }

  #evict(): void {
    for (const [path, entry] of this.#entries) {
      if (this.#entries.size <= this.#limit) return;
      if (entry.readers === 0) this.forget(path);
    }
  }

  #closeIfDone(entry: Entry): void {
    if (!entry.dropped || entry.readers > 0 || entry.closed) return;
    entry.closed = true;
    entry.opened.then(
      (h) => closeQuietly(h.fd),
      () => undefined,
    );
  }
}
