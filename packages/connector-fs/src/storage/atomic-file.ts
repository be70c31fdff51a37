/** Durable, atomic file writes: temporary file, fsync, rename (or link), fsync of the directory. */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, link, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ConnectorError, type PutData } from '@kloset/connector-contract';

/** A temporary name next to `finalPath`, unique per call. */
export function tempPathFor(finalPath: string): string {
  return join(dirname(finalPath), `.${basename(finalPath)}.${randomBytes(6).toString('hex')}.tmp`);
}

/** Names `tempPathFor` gives: `.<name>.<12 hex digits>.tmp`. */
export const TEMP_NAME_PATTERN = /^\..+\.[0-9a-f]{12}\.tmp$/;

/** Writes all of `bytes` at the handle's current position. */
export async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, off, bytes.length - off);
    off += bytesWritten;
  }
}

/** Parts gathered per writev call, at most (IOV_MAX is 1024 on Linux). */
const WRITEV_PARTS = 1024;
/** Bytes gathered per writev call, at most (a part larger than this is written alone). */
const WRITEV_BYTES = 8 * 1024 * 1024;

/** Writes all of `parts`, in order, with one writev call per call when it can. */
export async function writevAll(handle: FileHandle, parts: Uint8Array[]): Promise<void> {
  let i = 0;
  while (i < parts.length) {
    const { bytesWritten } = await handle.writev(i === 0 ? parts : parts.slice(i));
    let n = bytesWritten;
    while (i < parts.length && n >= parts[i]!.length) n -= parts[i++]!.length;
    if (n > 0) parts[i] = parts[i]!.subarray(n);
  }
}

/**
 * Writes `data` into the new file `tempPath` and fsyncs it. A PutBody yielding a different number
 * of bytes than its size fails with `invalid`. On failure the temporary file is removed and the
 * error (a body's own error included) is rethrown.
 */
export async function writeTempFile(tempPath: string, data: PutData, displayName: string): Promise<void> {
  const handle = await open(tempPath, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    if (data instanceof Uint8Array) {
      await writeAll(handle, data);
    } else {
      let written = 0;
      // Parts are gathered into writev calls: a packfile of small blobs has thousands of parts.
      let batch: Uint8Array[] = [];
      let batchBytes = 0;
      for await (const part of data.open()) {
        written += part.length;
        if (written > data.size) {
          throw new ConnectorError(
            'invalid',
            `put ${displayName}: body longer than its declared size ${data.size}`,
          );
        }
        if (part.length === 0) continue;
        if (batch.length > 0 && (batch.length === WRITEV_PARTS || batchBytes + part.length > WRITEV_BYTES)) {
          await writevAll(handle, batch);
          batch = [];
          batchBytes = 0;
        }
        batch.push(part);
        batchBytes += part.length;
      }
      if (batch.length > 0) await writevAll(handle, batch);
      if (written !== data.size) {
        throw new ConnectorError(
          'invalid',
          `put ${displayName}: body shorter (${written} bytes) than its declared size ${data.size}`,
        );
      }
    }
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => {});
    await unlink(tempPath).catch(() => {});
    throw err;
  }
  await handle.close();
}

/** fsyncs a directory, so that a rename or link in it survives a crash. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Moves a written temporary file to `finalPath` (replacing it) durably. */
export async function commitReplace(tempPath: string, finalPath: string): Promise<void> {
  try {
    await rename(tempPath, finalPath);
  } catch (err) {
    await unlink(tempPath).catch(() => {});
    throw err;
  }
  await syncDir(dirname(finalPath));
}

/**
 * Moves a written temporary file to `finalPath` only if nothing is there: a hard link fails with
 * EEXIST when the name exists, so two writers cannot both win. The temporary file is removed.
 */
export async function commitExclusive(tempPath: string, finalPath: string): Promise<void> {
  try {
    await link(tempPath, finalPath);
  } finally {
    await unlink(tempPath).catch(() => {});
  }
  await syncDir(dirname(finalPath));
}
