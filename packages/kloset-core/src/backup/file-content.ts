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
  signal?: AbortSignal,
): Promise<FileContentResult> {
  const read = { store, record, chunker, budget, onBytes, ...(signal ? { signal } : {}) };
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
  readonly signal?: AbortSignal;
}): Promise<Attempt> {
  const { store, record, chunker, budget, onBytes, signal } = read;
  const pending: Promise<PutBlobResult>[] = [];
  const lengths: number[] = [];
  let size = 0;
  let sourceError: string | undefined;
  let changed: ConnectorError | undefined;
  let metadata: EntryMetadata | undefined;
  try {
    const content = await record.open();
    if (record.metadataOnOpen === true) {
      metadata = content.metadata;
      if (metadata === undefined) throw new Error('the source opened the content without its metadata');
    }
    const asRead = (async function* () {
      try {
        yield* content;
      } catch (err) {
        if (!isConnectorError(err, 'changed')) throw err;
        changed = err;
      }
    })();
    for await (const chunk of chunker(asRead)) {
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
