/**
 * Reads the first line of a `-keyfile`, whatever the file is, within a time limit.
 *
 * A regular file is read as it always was. A FIFO with no writer would block a plain open() in the
 * thread pool until a writer comes, and a blocked thread-pool thread even stops the process from
 * exiting (Node joins those threads at exit). So the file is opened with O_NONBLOCK, which never
 * waits, and read without blocking: a read that finds nothing yet (EAGAIN, or a FIFO that no
 * writer has opened) is tried again a little later, until the time limit or SIGINT / SIGTERM.
 */
import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { CliError, PassphraseError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';

/** How long a keyfile may take to give its first line. */
export const KEYFILE_TIMEOUT_MS = 10_000;
/** How often a keyfile that has nothing yet is read again. */
const POLL_MS = 25;
/** What is read of a FIFO or device that sends no end of line: a passphrase is never near this. */
const MAX_STREAM_BYTES = 1024 * 1024;
const PIECE = 64 * 1024;

export interface KeyfileReadOptions {
  readonly timeoutMs?: number;
  /** Aborted on SIGINT / SIGTERM: the read stops at once (CliError, exit code 130). */
  readonly signal?: AbortSignal;
}

function errnoCode(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

function cannotRead(path: string, err: unknown): PassphraseError {
  return new PassphraseError(`cannot read keyfile ${path}: ${(err as Error).message}`, ExitCode.Error, {
    cause: err,
  });
}

/**
 * The bytes of the keyfile up to its first newline (or all of it), within the time limit. A FIFO
 * read gives 0 bytes both before a writer opens it and after the last writer closes it: before any
 * byte came, that means "not yet".
 */
async function readFirstLine(path: string, fh: FileHandle, opts: KeyfileReadOptions): Promise<Buffer> {
  const timeoutMs = opts.timeoutMs ?? KEYFILE_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  let regular: boolean;
  try {
    regular = (await fh.stat()).isFile();
  } catch (err) {
    throw cannotRead(path, err);
  }
  const parts: Buffer[] = [];
  let total = 0;
  const interrupted = () => new CliError('interrupted', ExitCode.Interrupted, { cause: opts.signal?.reason });
  for (;;) {
    if (opts.signal?.aborted) throw interrupted();
    const buffer = Buffer.allocUnsafe(PIECE);
    let n: number | undefined;
    try {
      // No position: a FIFO or a device cannot seek; a regular file is read from its start on.
      n = (await fh.read(buffer, 0, PIECE, null)).bytesRead;
    } catch (err) {
      if (errnoCode(err) !== 'EAGAIN' && errnoCode(err) !== 'EWOULDBLOCK') throw cannotRead(path, err);
    }
    if (n !== undefined && n > 0) {
      const piece = buffer.subarray(0, n);
      parts.push(piece);
      total += n;
      if (piece.includes(0x0a)) break;
      if (!regular && total >= MAX_STREAM_BYTES) break;
      continue;
    }
    if (n === 0 && (regular || total > 0)) break; // the end of the file
    if (Date.now() >= deadline) {
      throw new PassphraseError(
        `reading keyfile ${path}: nothing within ${timeoutMs / 1000} s (is it a FIFO with no writer?)`,
      );
    }
    await sleep(POLL_MS, undefined, opts.signal ? { signal: opts.signal } : {}).catch(() => {
      throw interrupted();
    });
  }
  return Buffer.concat(parts);
}

/** The first line of the keyfile at `path` (absolute): the passphrase. */
export async function readKeyfile(path: string, opts: KeyfileReadOptions = {}): Promise<string> {
  let fh: FileHandle;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw cannotRead(path, err);
  }
  let bytes: Buffer;
  try {
    bytes = await readFirstLine(path, fh, opts);
  } finally {
    await fh.close().catch(() => undefined);
  }
  const line = bytes.toString('utf8').split(/\r?\n/, 1)[0] ?? '';
  if (line === '') throw new PassphraseError(`keyfile ${path} is empty: its first line is the passphrase`);
  return line;
}
