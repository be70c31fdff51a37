/** Reads a file for FsSource: exactly the scanned size, failing if the file changed meanwhile. */
import { type BigIntStats, fstatSync } from 'node:fs';
import { ConnectorError, type ContentStream } from '@kloset/connector-contract';
import { closeQuietly, openToRead, readInto } from '../fd-io.ts';
import { fsError } from '../fs-errors.ts';
import { type NativePath, shownPath, withShortPath } from '../native-path.ts';

/** Largest piece yielded (and read with one call). */
export const READ_PIECE = 4 * 1024 * 1024;

function changed(absPath: string, why: string): ConnectorError {
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
 * A stream of the `size` bytes of the file at `absPath`, in pieces of at most READ_PIECE bytes,
 * each read into its own exactly sized buffer (never reused). The file is opened on the first
 * read (a stream never read holds no descriptor) and closed at the end, on error and on early
 * return. The last read asks for one byte more than the scanned size, so a file that grew is
 * seen without a further call. It fails with `changed` if the file is shorter or longer than
 * `size`, or if its mtime is no longer `mtimeNs` (those of `scanned`; without it, a second read
 * after `changed`, those fstat finds at the open), after yielding every byte it read, so that the
 * engine can keep them if the file changes again (SourceRecord.open).
 *
 * Calls per file: open and one read per piece go through the thread pool (they may wait for the
 * disk); the final fstat and the close are synchronous (no disk I/O for a file opened to read).
 */
export async function* readFileContent(
  nativePath: NativePath,
  scanned: FileState | undefined,
): ContentStream {
  const absPath = shownPath(nativePath);
  let fd: number;
  try {
    fd = await withShortPath(nativePath, openToRead);
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
        n = await readInto(fd, buffer, position);
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
