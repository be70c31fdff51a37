/**
 * Stores one file's content: open -> chunk -> putBlob per chunk, with chunks handed to the
 * repository without waiting for each to be stored (so reading, chunking, hashing, compression and
 * uploads overlap), bounded by a shared byte budget.
 */
import {
  type ConnectorError,
  type EntryMetadata,
  isConnectorError,
  type Semaphore,
  type SourceRecord,
} from '@kloset/connector-contract';
import { concatBytes } from '../encoding/bytes.ts';
import { BlobKind, type BlobStore, type PutBlobResult } from '../repository/blob-store.ts';
import type { ChunkRef } from '../snapshot/entry.ts';
import { errorMessage } from '../snapshot/tree-reader.ts';
import type { BackupEntryWarning, ContentChunker } from './backup-options.ts';

/** What storing a file gave. A source failure is per entry; a repository failure throws. */
export type FileContentResult =
  | {
      readonly ok: true;
      readonly chunks: ChunkRef[];
      readonly size: number;
      /** The complete metadata the opened content brought (records with `metadataOnOpen`). */
      readonly metadata?: EntryMetadata;
      readonly storedBytes: number;
      readonly newBlobs: number;
      /**
       * Set when the content changed while it was read, and again when it was read once more: the
       * content is the second read's, as read (possibly a mix of before and after the change).
       */
      readonly warning?: string;
    }
  | { readonly ok: false; readonly error: string; readonly storedBytes: number; readonly newBlobs: number };

/** The warnings of a backup: the first 1,000 kept, every one counted. */
export class EntryWarnings {
  readonly list: BackupEntryWarning[] = [];
  count = 0;
  add(path: string, warning: string): void {
    this.count++;
    if (this.list.length < 1000) this.list.push({ path, warning });
  }
}

/** A failure of the repository while storing content: fatal for the backup. */
export class RepositoryWriteError extends Error {
  override readonly name = 'RepositoryWriteError';
}

/** Options of storeFileContent. */
export interface StoreFileOptions {
  /** Stops reading (the result is then an error). */
  readonly signal?: AbortSignal;
  /**
   * Content of at most this many bytes is stored as one chunk without running `chunker` (set it to
   * the chunker's minimum chunk size, below which it never cuts); undefined: always the chunker.
   */
  readonly oneChunkMax?: number;
}

/** One read of the content: the result, and the `changed` error that ended the read early, if any. */
interface Attempt {
  readonly result: FileContentResult;
  readonly changed?: ConnectorError;
}

/**
 * Stores the content of `record`. `onBytes` is called as content is read. Errors of the source
 * (open, read) give `ok: false`; errors of the repository are thrown as RepositoryWriteError
 * naming the file. Content that changed while it was read (a `changed` ConnectorError) is read
 * once more, as it is then (SourceRecord.open); if it changes again, what that read gave is kept,
 * with a warning. The chunks of a discarded read stay in the store, unreferenced (maintenance).
 */
export async function storeFileContent(
  store: BlobStore,
  record: SourceRecord,
  chunker: ContentChunker,
  budget: Semaphore,
  onBytes: (n: number) => void,
  options: StoreFileOptions = {},
): Promise<FileContentResult> {
  const { signal } = options;
  const read = {
    store,
    record,
    chunker,
    budget,
    onBytes,
    oneChunkMax: options.oneChunkMax,
    ...(signal ? { signal } : {}),
  };
  const first = await readAndStore(read);
  if (first.changed === undefined) return first.result;
  signal?.throwIfAborted();
  const second = await readAndStore(read);
  const storedBytes = first.result.storedBytes + second.result.storedBytes;
  const newBlobs = first.result.newBlobs + second.result.newBlobs;
  const result = { ...second.result, storedBytes, newBlobs };
  if (second.changed === undefined || !result.ok) return result;
  return {
    ...result,
    warning: `changed while being read, twice: stored as read the second time (${errorMessage(second.changed)})`,
  };
}

/**
 * Opens the content and stores its chunks. A `changed` error of the stream ends it as if it had
 * ended there, so that the chunker cuts and stores what was read up to it.
 */
async function readAndStore(read: {
  readonly store: BlobStore;
  readonly record: SourceRecord;
  readonly chunker: ContentChunker;
  readonly budget: Semaphore;
  readonly onBytes: (n: number) => void;
  readonly oneChunkMax: number | undefined;
  readonly signal?: AbortSignal;
}): Promise<Attempt> {
  const { store, record, chunker, budget, onBytes, oneChunkMax, signal } = read;
  const pending: Promise<PutBlobResult>[] = [];
  const lengths: number[] = [];
  let size = 0;
  let sourceError: string | undefined;
  let changed: ConnectorError | undefined;
  let metadata: EntryMetadata | undefined;
  const put = async (chunk: Uint8Array): Promise<void> => {
    signal?.throwIfAborted(); // the backup is stopping: no need to read the rest
    const units = await budget.acquire(chunk.length);
    const p = store.putBlob(BlobKind.Chunk, chunk);
    p.then(
      () => budget.release(units),
      () => budget.release(units),
    );
    pending.push(p);
    lengths.push(chunk.length);
    size += chunk.length;
    onBytes(chunk.length);
  };
  try {
    const content = await record.open();
    if (record.metadataOnOpen === true) {
      metadata = content.metadata;
      if (metadata === undefined) throw new Error('the source opened the content without its metadata');
    }
    const pieces = content[Symbol.asyncIterator]();
    let ended = false;
    /** The next piece; undefined at the end, or at a `changed` error (kept), which ends the content there. */
    const next = async (): Promise<Uint8Array | undefined> => {
      if (ended) return undefined;
      try {
        const r = await pieces.next();
        if (r.done !== true) return r.value;
      } catch (err) {
        if (!isConnectorError(err, 'changed')) throw err;
        changed = err;
      }
      ended = true;
      return undefined;
    };
    try {
      // Content of at most `oneChunkMax` bytes is one chunk (the chunker never cuts before its
      // minimum): read whole and stored without setting up a chunker. Longer content (or content
      // that turns out longer than the record said) goes through the chunker, what was read first.
      const head: Uint8Array[] = [];
      let headLength = 0;
      if (oneChunkMax !== undefined && record.size <= oneChunkMax) {
        for (let piece = await next(); piece !== undefined; piece = await next()) {
          if (piece.length === 0) continue;
          head.push(piece);
          headLength += piece.length;
          if (headLength > oneChunkMax) break;
        }
      }
      if (ended && headLength <= (oneChunkMax ?? 0)) {
        if (headLength > 0) await put(head.length === 1 ? head[0]! : concatBytes(...head));
      } else {
        const rest = async function* (): AsyncGenerator<Uint8Array> {
          yield* head;
          for (let piece = await next(); piece !== undefined; piece = await next()) yield piece;
        };
        for await (const chunk of chunker(rest())) await put(chunk);
      }
    } finally {
      // Stopped early (a failure, an abort): the source closes what it holds.
      if (!ended) await pieces.return?.();
    }
  } catch (err) {
    sourceError = errorMessage(err);
  }
  const settled = await Promise.allSettled(pending);
  let storedBytes = 0;
  let newBlobs = 0;
  const chunks: ChunkRef[] = [];
  for (const [i, s] of settled.entries()) {
    if (s.status === 'rejected') {
      throw new RepositoryWriteError(`cannot store content of ${record.path}: ${errorMessage(s.reason)}`, {
        cause: s.reason,
      });
    }
    if (s.value.stored) {
      storedBytes += s.value.storedBytes;
      newBlobs++;
    }
    chunks.push({ id: s.value.id, length: lengths[i]! });
  }
  if (sourceError !== undefined) return { result: { ok: false, error: sourceError, storedBytes, newBlobs } };
  const result: FileContentResult = {
    ok: true,
    chunks,
    size,
    ...(metadata !== undefined ? { metadata } : {}),
    storedBytes,
    newBlobs,
  };
  return changed === undefined ? { result } : { result, changed };
}
