/** Reads a file for FsSource: exactly the scanned size, failing if the file changed meanwhile. */
import { type BigIntStats, fstatSync, openSync, readSync } from 'node:fs';
import { ConnectorError, type ContentStream } from '@kloset/connector-contract';
import { closeQuietly, openToRead, readInto } from '../fd-io.ts';
import { fsError } from '../fs-errors.ts';
import { type InlineCalls, POOLED } from '../inline-calls.ts';
import { isLong, type NativePath, shownPath, withShortPath } from '../native-path.ts';

/** Largest piece yielded (and read with one call). */
export const READ_PIECE = 4 * 1024 * 1024;

/**
 * Files of at most this many bytes (as scanned) are read whole on the calling thread, through
 * InlineCalls. Synchronous open + read + fstat + close of a cached file, against open and read in
 * the thread pool (2-core VM, main-thread CPU per file): 4 KiB 16-39 us against 160-280, 64 KiB
 * 80 against 120-190; at 256 KiB and 1 MiB the copy costs the calling thread as much as the
 * hand-offs (140-220 and 380-610 us, against 200 and 510-590), and such reads would trip the
 * InlineCalls average (0.2 ms).
 */
export const INLINE_READ_MAX = 64 * 1024;

export function changed(absPath: string, why: string): ConnectorError {
  return new ConnectorError('changed', `${absPath} ${why}`, { op: 'read', key: absPath });
}

/** The size and mtime a read must find the file with, from start to end. */
export interface FileState {
  readonly size: number;
  readonly mtimeNs: bigint;
}

/** The size and mtime of the open file `fd`. */
function stateOf(fd: number, absPath: string): FileState {
  let stat: BigIntStats;
  try {
    stat = fstatSync(fd, { bigint: true });
  } catch (err) {
    throw fsError(err, 'fstat', absPath);
  }
  return { size: Number(stat.size), mtimeNs: stat.mtimeNs };
}

/**
 * The content of the file at `nativePath`, as readFileContent reads it. A small file (at most
 * INLINE_READ_MAX bytes when scanned) is read whole at the first `next()`, on the calling thread
 * while `calls` runs calls inline (else as readFileContent, in the thread pool): open, one read of
 * size + 1 bytes into an exactly sized buffer, fstat, close, with the same checks and errors.
 */
export function fileContent(
  nativePath: NativePath,
  scanned: FileState | undefined,
  calls: InlineCalls,
): ContentStream {
  if (scanned === undefined || scanned.size > INLINE_READ_MAX || isLong(nativePath)) {
    return readFileContent(nativePath, scanned, calls);
  }
  return { [Symbol.asyncIterator]: () => new SmallFileRead(nativePath, scanned, calls) };
}

/**
 * The content of a small file read right after its lstat (by the walk's worker): its bytes, the
 * `changed` error to throw after them, and `taken`, called with their length when the record hands
 * them out.
 */
export interface Prefetched {
  readonly bytes: Uint8Array;
  readonly error: ConnectorError | undefined;
  readonly taken: (bytes: number) => void;
}

/** A content stream of `bytes` (none if empty), then `error` if any. */
export function prefetchedContent(bytes: Uint8Array, error: ConnectorError | undefined): ContentStream {
  let step = 0;
  const iterator: AsyncIterator<Uint8Array> = {
    next: async () => {
      if (step === 0) {
        step = 1;
        if (bytes.length > 0) return { done: false, value: bytes };
      }
      if (step === 1) {
        step = 2;
        if (error) throw error;
      }
      return { done: true, value: undefined };
    },
    return: async () => {
      step = 2;
      return { done: true, value: undefined };
    },
  };
  return { [Symbol.asyncIterator]: () => iterator };
}

/** What a whole read of a small file found: the bytes read, then the error to throw after them. */
interface WholeRead {
  readonly bytes: Buffer;
  readonly error: ConnectorError | undefined;
}

/** The one-shot iterator of a small file's content (fileContent). */
class SmallFileRead implements AsyncIterator<Uint8Array> {
  readonly #path: NativePath;
  readonly #scanned: FileState;
  readonly #calls: InlineCalls;
  /** The pool path, once InlineCalls sent the read there. */
  #pooled: AsyncIterator<Uint8Array> | undefined;
  /** The error still to throw after the bytes; `done` once everything was handed out. */
  #after: ConnectorError | undefined | 'done';
  #started = false;

  constructor(path: NativePath, scanned: FileState, calls: InlineCalls) {
    this.#path = path;
    this.#scanned = scanned;
    this.#calls = calls;
  }

  async next(): Promise<IteratorResult<Uint8Array>> {
    if (this.#pooled) return this.#pooled.next();
    if (this.#started) {
      const after = this.#after;
      this.#after = 'done';
      if (after !== undefined && after !== 'done') throw after;
      return { done: true, value: undefined };
    }
    this.#started = true;
    this.#after = 'done';
    const whole = this.#calls.runInline(() => readWholeSync(this.#path, this.#scanned));
    if (whole === POOLED) {
      this.#pooled = readFileContent(this.#path, this.#scanned, this.#calls)[Symbol.asyncIterator]();
      return this.#pooled.next();
    }
    this.#after = whole.error;
    if (whole.bytes.length > 0) return { done: false, value: whole.bytes };
    return this.next();
  }

  async return(): Promise<IteratorResult<Uint8Array>> {
    this.#started = true;
    this.#after = 'done';
    if (this.#pooled) return (await this.#pooled.return?.()) ?? { done: true, value: undefined };
    return { done: true, value: undefined };
  }
}

/**
 * Reads the small file at `nativePath` whole, synchronously: the bytes read (at most `scanned.size`)
 * and the `changed` error to throw after them if the file is no longer as scanned. A short read
 * at the size is trusted as the end of the file: the fstat after it sees a file that grew.
 */
function readWholeSync(nativePath: NativePath, scanned: FileState): WholeRead {
  const absPath = shownPath(nativePath);
  const { size, mtimeNs } = scanned;
  let fd: number;
  try {
    fd = openSync(nativePath, 'r');
  } catch (err) {
    throw fsError(err, 'open', absPath);
  }
  try {
    // Under 4 KiB, a slice of Node's buffer pool (a slice is never handed out twice): an
    // ArrayBuffer of its own per file cost 3.2 us in a backup of 100k files of 100 B (malloc,
    // external memory that brings GCs forward), the slice 0.1-0.2 us.
    const buffer = Buffer.allocUnsafe(size + 1);
    let done = 0;
    try {
      for (;;) {
        const n = readSync(fd, buffer, done, buffer.length - done, done);
        done += n;
        if (n === 0 || done >= size) break;
      }
    } catch (err) {
      throw fsError(err, 'read', absPath);
    }
    if (done < size) {
      const error = changed(absPath, `shrank while being read: ${done} of ${size} bytes`);
      return { bytes: buffer.subarray(0, done), error };
    }
    const bytes = buffer.subarray(0, size);
    if (done > size) {
      return {
        bytes,
        error: changed(absPath, `grew while being read (size ${size} when scanned or opened)`),
      };
    }
    const end = stateOf(fd, absPath);
    if (end.size !== size) {
      return {
        bytes,
        error: changed(absPath, `grew while being read (size ${size} when scanned or opened)`),
      };
    }
    if (end.mtimeNs !== mtimeNs) return { bytes, error: changed(absPath, 'was modified while being read') };
    return { bytes, error: undefined };
  } finally {
    closeQuietly(fd);
  }
}

/**
 * A stream of the `size` bytes of the file at `absPath`, in pieces of at most READ_PIECE bytes,
 * each read into its own exactly sized buffer (never reused). The file is opened on the first
 * read (a stream never read holds no descriptor) and closed at the end, on error and on early
 * return. The last read asks for one byte more than the scanned size, so a file that grew is
 * seen without a further call. It fails with `changed` if the file is shorter or longer than
 * `size`, or if its mtime is no longer `mtimeNs` (those of `scanned`; without it, a second read
 * after `changed`, those fstat finds at the open), after yielding every byte it read, so that the
 * engine can keep them if the file changes again (SourceRecord.open).
 *
 * Calls per file: the open through `calls` (inline while calls are fast, as lstat), one read per
 * piece through the thread pool (it may wait for the disk), the last one not followed by a read
 * that returns 0 (the fstat after it sees a file that grew); the final fstat and the close are
 * synchronous (no disk I/O for a file opened to read).
 */
export async function* readFileContent(
  nativePath: NativePath,
  scanned: FileState | undefined,
  calls?: InlineCalls,
): ContentStream {
  const absPath = shownPath(nativePath);
  let fd: number;
  try {
    fd =
      calls === undefined || isLong(nativePath)
        ? await withShortPath(nativePath, openToRead)
        : await calls.run(
            () => openSync(nativePath, 'r'),
            () => openToRead(nativePath),
          );
  } catch (err) {
    throw fsError(err, 'open', absPath);
  }
  try {
    const { size, mtimeNs } = scanned ?? stateOf(fd, absPath);
    let position = 0;
    for (;;) {
      const want = Math.min(READ_PIECE, size - position);
      const last = position + want === size;
      const buffer = Buffer.allocUnsafeSlow(last ? want + 1 : want);
      let n: number;
      try {
        n = await readInto(fd, buffer, position, want);
      } catch (err) {
        throw fsError(err, 'read', absPath);
      }
      if (n < want) {
        if (n > 0) yield buffer.subarray(0, n);
        throw changed(absPath, `shrank while being read: ${position + n} of ${size} bytes`);
      }
      if (n > want) {
        if (want > 0) yield buffer.subarray(0, want);
        throw changed(absPath, `grew while being read (size ${size} when scanned or opened)`);
      }
      position += want;
      if (want > 0) yield buffer.subarray(0, want);
      if (last) break;
    }
    const end = stateOf(fd, absPath);
    if (end.size !== size)
      throw changed(absPath, `grew while being read (size ${size} when scanned or opened)`);
    if (end.mtimeNs !== mtimeNs) throw changed(absPath, 'was modified while being read');
  } finally {
    closeQuietly(fd);
  }
}
