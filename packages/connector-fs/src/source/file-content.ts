/** Reads a file for FsSource: exactly the scanned size, failing if the file changed meanwhile. */
import { open } from 'node:fs/promises';
import { ConnectorError, type ContentStream } from '@kloset/connector-contract';
import { fsError } from '../fs-errors.ts';

const CHUNK = 512 * 1024;

/**
 * A stream of the `size` bytes of the file at `absPath`, read in chunks of at most 512 KiB. The
 * file is opened on the first read (a stream never read holds no descriptor) and closed at the
 * end, on error and on early return. It fails with `corrupt` if the file is shorter or longer
 * than `size`, or if its mtime is no longer `mtimeNs`: the content no longer matches the record.
 */
export async function* readFileContent(absPath: string, size: number, mtimeNs: bigint): ContentStream {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(absPath, 'r');
  } catch (err) {
    throw fsError(err, 'open', absPath);
  }
  try {
    let position = 0;
    while (position < size) {
      const buffer = new Uint8Array(Math.min(CHUNK, size - position));
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(buffer, 0, buffer.length, position));
      } catch (err) {
        throw fsError(err, 'read', absPath);
      }
      if (bytesRead === 0) {
        throw new ConnectorError(
          'corrupt',
          `${absPath} shrank while being read: ${position} of ${size} bytes`,
          {
            op: 'read',
            key: absPath,
          },
        );
      }
      position += bytesRead;
      yield bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
    }
    const probe = await handle.read(new Uint8Array(1), 0, 1, position).catch((err) => {
      throw fsError(err, 'read', absPath);
    });
    const stat = await handle.stat({ bigint: true }).catch((err) => {
      throw fsError(err, 'fstat', absPath);
    });
    if (probe.bytesRead > 0 || stat.size !== BigInt(size)) {
      throw new ConnectorError('corrupt', `${absPath} grew while being read (scanned size ${size})`, {
        op: 'read',
        key: absPath,
      });
    }
    if (stat.mtimeNs !== mtimeNs) {
      throw new ConnectorError('corrupt', `${absPath} was modified after it was scanned`, {
        op: 'read',
        key: absPath,
      });
    }
  } finally {
    await handle.close().catch(() => {});
  }
}
