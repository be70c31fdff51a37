/**
 * The content stream of a file being restored: its chunks in order, fetched in windows of
 * consecutive chunks (one coalesced, verified read per window where the repository offers it),
 * with one window of read-ahead, under a shared byte budget. Any missing or corrupt chunk makes the
 * stream throw, naming the file and the blob, so the destination keeps nothing of the file.
 */
import type { ContentStream, Semaphore } from '@kloset/connector-contract';
import { toHex } from '../encoding/bytes.ts';
import { BlobKind } from '../repository/blob-store.ts';
import type { EngineRepository } from '../snapshot/engine-repository.ts';
import type { ChunkRef, SnapshotEntry } from '../snapshot/entry.ts';
import { errorMessage } from '../snapshot/tree-reader.ts';

interface Window {
  readonly data: Uint8Array[];
  readonly units: number;
  readonly end: number;
}

/** The content of a file failed to read: names the file (and, in the message, the blob). */
export class RestoreContentError extends Error {
  override readonly name = 'RestoreContentError';
}

async function fetchWindow(
  repo: EngineRepository,
  chunks: readonly ChunkRef[],
  start: number,
  end: number,
): Promise<Uint8Array[]> {
  const slice = chunks.slice(start, end);
  const out: (Uint8Array | undefined)[] = new Array(slice.length);
  if (repo.getBlobs !== undefined && slice.length > 1) {
    for await (const r of repo.getBlobs(
      BlobKind.Chunk,
      slice.map((c) => c.id),
    )) {
      if (!r.ok) throw r.error;
      out[r.index] = r.data;
    }
  } else {
    const datas = await Promise.all(slice.map((c) => repo.getBlob(BlobKind.Chunk, c.id)));
    datas.forEach((d, i) => {
      out[i] = d;
    });
  }
  return out.map((d, i) => {
    const c = slice[i]!;
    if (d === undefined) throw new Error(`chunk ${toHex(c.id)} was not returned by the repository`);
    if (d.length !== c.length) {
      throw new Error(`chunk ${toHex(c.id)} has ${d.length} bytes, the snapshot says ${c.length}`);
    }
    return d;
  });
}

/** The content stream of `entry` (a file). */
export function fileContent(
  repo: EngineRepository,
  entry: SnapshotEntry,
  budget: Semaphore,
  windowBytes: number,
  signal: AbortSignal | undefined,
): ContentStream {
  const chunks = entry.chunks;
  const start = (from: number): Promise<Window> => {
    let end = from;
    let bytes = 0;
    do {
      bytes += chunks[end]!.length;
      end++;
    } while (end < chunks.length && bytes + chunks[end]!.length <= windowBytes);
    return budget.acquire(bytes).then(async (units) => {
      try {
        return { data: await fetchWindow(repo, chunks, from, end), units, end };
      } catch (err) {
        budget.release(units);
        throw new RestoreContentError(`cannot restore ${entry.path}: ${errorMessage(err)}`, { cause: err });
      }
    });
  };
  return (async function* () {
    let next: Promise<Window> | undefined = chunks.length > 0 ? start(0) : undefined;
    let total = 0;
    try {
      while (next !== undefined) {
        const current = next;
        next = undefined;
        const w = await current;
        try {
          if (w.end < chunks.length) {
            next = start(w.end);
            next.catch(() => undefined); // observed when awaited, or dropped in finally
          }
          for (const d of w.data) {
            signal?.throwIfAborted();
            total += d.length;
            yield d;
          }
        } finally {
          budget.release(w.units);
        }
      }
      if (total !== entry.size) {
        throw new RestoreContentError(
          `cannot restore ${entry.path}: its chunks hold ${total} bytes, the snapshot says ${entry.size}`,
        );
      }
    } finally {
      // The consumer stopped early: give back the budget of the read-ahead window when it lands.
      if (next !== undefined)
        next.then(
          (w) => budget.release(w.units),
          () => undefined,
        );
    }
  })();
}
