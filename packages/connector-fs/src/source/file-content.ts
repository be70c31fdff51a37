/** Reads a file for FsSource: exactly the scanned size, failing if the file changed meanwhile. */
import { type BigIntStats, fstatSync } from 'node:fs';
import { ConnectorError, type ContentStream } from '@kloset/connector-contract';
import { closeQuietly, openToRead, readInto } from '../fd-io.ts';
import { fsError } from '../fs-errors.ts';

/** Largest piece yielded (and read with one call). */
export const READ_PIECE = 4 * 1024 * 1024;

function changed(absPath: string, why: string): ConnectorError {
  return new ConnectorError('corrupt', `${absPath} ${why}`, { op: 'read', key: absPath });
}

/**
 * A stream of the `size` bytes of the file at `absPath`, in pieces of at most READ_PIECE bytes,
 * each read into its own exactly sized buffer (never reused). The file is opened on the first
 * read (a stream never read holds no descriptor) and closed at the end, on error and on early
 * return. The last read asks for one byte more than the scanned size, so a file that grew is
 * seen without a further call. It fails with `corrupt` if the file is shorter or longer than
 * `size`, or if its mtime is no longer `mtimeNs`: the content no longer matches the record.
 *
 * Calls per file: open and one read per piece go through the thread pool (they may wait for the
 * disk); the final fstat and the close are synchronous (no disk I/O for a file opened to read).
 */
export async function* readFileContent(absPath: string, size: number, mtimeNs: bigint): ContentStream {
  let fd: number;
  try {
    fd = await openToRead(absPath);
  } catch (err) {
    throw fsError(err, 'open', absPath);
  }
  try {
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
      if (n < want) throw changed(absPath, `shrank while being read: ${position + n} of ${size} bytes`);
      if (n > want) throw changed(absPath, `grew while being read (scanned size ${size})`);
      position += want;
      if (want > 0) yield buffer.subarray(0, want);
      if (last) break;
    }
    let stat: BigIntStats;
    try {
      stat = fstatSync(fd, { bigint: true });
    } catch (err) {
      throw fsError(err, 'fstat', absPath);
    }
    if (stat.size !== BigInt(size)) throw changed(absPath, `grew while being read (scanned size ${size})`);
    if (stat.mtimeNs !== mtimeNs) throw changed(absPath, 'was modified after it was scanned');
  } finally {
    closeQuietly(fd);
  }
}
