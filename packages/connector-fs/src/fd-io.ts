/**
 * File-descriptor I/O through Node's callback API: one thread-pool request per call, without the
 * FileHandle objects of fs/promises (cheaper per call, and nothing left for the GC to close).
 */
import { closeSync, open, type PathLike, read } from 'node:fs';

/** Opens `path` to read. */
export function openToRead(path: PathLike): Promise<number> {
  return new Promise((resolve, reject) => open(path, 'r', (err, fd) => (err ? reject(err) : resolve(fd))));
}

/**
 * Fills `buffer` from the file at `position`; returns the bytes read (fewer only at the end of the
 * file). With `enough`, stops as soon as that many bytes are in: a read that asks for one byte
 * more than expected and gets exactly what was expected is not followed by one that returns 0.
 */
export async function readInto(
  fd: number,
  buffer: Uint8Array,
  position: number,
  enough = buffer.length,
): Promise<number> {
  let done = 0;
  while (done < enough) {
    const n = await new Promise<number>((resolve, reject) =>
      read(fd, buffer, done, buffer.length - done, position + done, (err, bytes) =>
        err ? reject(err) : resolve(bytes),
      ),
    );
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** Closes a descriptor opened to read: there is nothing to flush, so a failure loses nothing. */
export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Nothing to report.
  }
}
