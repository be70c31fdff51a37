/**
 * Warming of the index cache file: read once, front to back, in the thread pool, so that the
 * page cache holds it before lookups start. SQLite reads its pages one at a time on the calling
 * thread; on a cold cache (after a reboot, or hours since the last backup) each is a disk read
 * that blocks the event loop: an unchanged re-backup of 8,366 files spent 0.3 s of main-thread time
 * in lookups this way. Only the first WARM_MAX_BYTES are read; a larger cache is warmed in part.
 */
import { close, open, read } from 'node:fs';

/** Bytes read at most (the cache of about a million blobs). */
export const WARM_MAX_BYTES = 128 * 1024 * 1024;
const PIECE = 1024 * 1024;

/**
 * Reads up to `maxBytes` of the file at `path` into one reused buffer. Never fails: a missing or
 * unreadable file is simply not warmed. Resolves when done (callers need not wait for it).
 */
export async function warmFile(path: string, maxBytes: number = WARM_MAX_BYTES): Promise<void> {
  const fd = await new Promise<number | undefined>((resolve) =>
    open(path, 'r', (err, f) => resolve(err ? undefined : f)),
  );
  if (fd === undefined) return;
  const buffer = Buffer.allocUnsafeSlow(PIECE);
  try {
    for (let position = 0; position < maxBytes; ) {
      const n = await new Promise<number>((resolve) =>
        read(fd, buffer, 0, PIECE, position, (err, bytes) => resolve(err ? 0 : bytes)),
      );
      if (n === 0) return;
      position += n;
    }
  } finally {
    close(fd, () => {});
  }
}
