/**
 * `cat SNAPSHOT:PATH`: the content of one file of a snapshot, verified chunk by chunk (GCM tag and
 * MAC, FORMAT.md §4.3) before any of its bytes is handed out.
 *
 * Files up to `bufferBytes` (default 16 MiB) are read and verified whole before the first byte is
 * yielded, so a corrupt one yields nothing. Larger files stream in windows of consecutive chunks
 * (memory: two windows), so a chunk found corrupt after the first window stops the stream with a
 * verified prefix already handed out; the consumer learns it from the error.
 */
import type { EntryPath } from '@kloset/connector-contract';
import { Semaphore } from '@kloset/connector-contract';
import { toHex } from '../encoding/bytes.ts';
import { MissingBlobError } from '../repository/errors.ts';
import { fileContent } from '../restore/file-content.ts';
import type { EngineRepository } from './engine-repository.ts';
import type { SnapshotEntry } from './entry.ts';
import type { SnapshotHeader } from './header.ts';
import { SnapshotPathNotFoundError } from './list-path.ts';
import { TreeReader } from './tree-reader.ts';

export interface ReadFileOptions {
  /** Files up to this size are verified whole before their first byte is yielded (default 16 MiB). */
  readonly bufferBytes?: number;
  /** Bytes of consecutive chunks fetched at once (default 8 MiB). */
  readonly windowBytes?: number;
  readonly signal?: AbortSignal;
}

/** What kind of failure stopped a file's content. */
export type FileContentFailure = 'corrupt' | 'missing' | 'not-a-file' | 'not-backed-up';

/** The content of a file cannot be given: names the file, the snapshot and, in the message, the blob. */
export class FileContentError extends Error {
  override readonly name = 'FileContentError';
  readonly failure: FileContentFailure;
  constructor(failure: FileContentFailure, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.failure = failure;
  }
}

/** The file entry at `path`; throws SnapshotPathNotFoundError, or FileContentError when it is no file. */
export async function findFile(
  repo: EngineRepository,
  header: SnapshotHeader,
  path: EntryPath,
): Promise<SnapshotEntry> {
  const label = `snapshot ${toHex(header.id).slice(0, 8)}`;
  const found = await new TreeReader(repo, header.root, { label }).find(path);
  const file = found.find((e) => e.type === 'file');
  if (file === undefined) {
    const other = found[0];
    if (other === undefined) throw new SnapshotPathNotFoundError(`${path} not found in ${label}`);
    const what =
      other.type === 'symlink' ? `a symlink (to ${JSON.stringify(other.linkTarget ?? '')})` : 'a directory';
    throw new FileContentError('not-a-file', `${path} in ${label} is ${what}, not a file`);
  }
  if (file.error !== undefined) {
    throw new FileContentError('not-backed-up', `${path} in ${label} has no content: ${file.error}`);
  }
  return file;
}

function failureOf(err: unknown): FileContentFailure {
  const cause = err instanceof Error && err.cause !== undefined ? err.cause : err;
  if (cause instanceof MissingBlobError) return 'missing';
  return 'corrupt';
}

/** Yields the verified content of the file at `path` (see the module comment). */
export async function* readFile(
  repo: EngineRepository,
  header: SnapshotHeader,
  path: EntryPath,
  options: ReadFileOptions = {},
): AsyncGenerator<Uint8Array> {
  const file = await findFile(repo, header, path);
  const label = `snapshot ${toHex(header.id).slice(0, 8)}`;
  const windowBytes = options.windowBytes ?? 8 * 1024 * 1024;
  const budget = new Semaphore(2 * windowBytes);
  const content = fileContent(repo, file, budget, windowBytes, options.signal);
  const wrap = (err: unknown): Error => {
    if (options.signal?.aborted) return options.signal.reason as Error;
    const cause = err instanceof Error && err.cause !== undefined ? err.cause : err;
    const reason = cause instanceof Error ? cause.message : String(cause);
    return new FileContentError(failureOf(err), `cannot read ${path} in ${label}: ${reason}`, { cause });
  };
  if (file.size <= (options.bufferBytes ?? 16 * 1024 * 1024)) {
    const parts: Uint8Array[] = [];
    try {
      for await (const part of content) parts.push(part);
    } catch (err) {
      throw wrap(err);
    }
    yield* parts;
    return;
  }
  try {
    for await (const part of content) yield part;
  } catch (err) {
    throw wrap(err);
  }
}
