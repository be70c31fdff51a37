/**
 * Stores one file's content: open -> chunk -> putBlob per chunk, with chunks handed to the
 * repository without waiting for each to be stored (so reading, chunking, hashing, compression and
 * uploads overlap), bounded by a shared byte budget.
 */
import type { EntryMetadata, Semaphore, SourceRecord } from '@kloset/connector-contract';
import { BlobKind, type BlobStore, type PutBlobResult } from '../repository/blob-store.ts';
import type { ChunkRef } from '../snapshot/entry.ts';
import { errorMessage } from '../snapshot/tree-reader.ts';
import type { ContentChunker } from './backup-options.ts';

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
    }
  | { readonly ok: false; readonly error: string; readonly storedBytes: number; readonly newBlobs: number };

/** A failure of the repository while storing content: fatal for the backup. */
export class RepositoryWriteError extends Error {
  override readonly name = 'RepositoryWriteError';
}

/**
 * Stores the content of `record`. `onBytes` is called as content is read. Errors of the source
 * (open, read, a changed file) give `ok: false`; errors of the repository are thrown as
 * RepositoryWriteError naming the file.
 */
export async function storeFileContent(
  store: BlobStore,
  record: SourceRecord,
  chunker: ContentChunker,
  budget: Semaphore,
  onBytes: (n: number) => void,
  signal?: AbortSignal,
): Promise<FileContentResult> {
  const pending: Promise<PutBlobResult>[] = [];
  const lengths: number[] = [];
  let size = 0;
  let sourceError: string | undefined;
  let metadata: EntryMetadata | undefined;
  try {
    const content = await record.open();
    if (record.metadataOnOpen === true) {
      metadata = content.metadata;
      if (metadata === undefined) throw new Error('the source opened the content without its metadata');
    }
    for await (const chunk of chunker(content)) {
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
  if (sourceError !== undefined) return { ok: false, error: sourceError, storedBytes, newBlobs };
  return { ok: true, chunks, size, ...(metadata !== undefined ? { metadata } : {}), storedBytes, newBlobs };
}
