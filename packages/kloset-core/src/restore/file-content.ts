/**
 * The content stream of a file being restored: its chunks in order, fetched in windows of
 * consecutive chunks (one coalesced, verified read per window where the repository offers it),
 * with one window of read-ahead, under a shared byte budget. Any missing or corrupt chunk makes the
 * stream throw, naming the file and the blob, so the destination keeps nothing of the file.
 */
import type { ContentStream, Semaphore } from '@kloset/connector-contract';
import { toHex } from '../encoding/bytes.ts';
import type { EngineRepository } from '../snapshot/engine-repository.ts';
import type { ChunkRef, SnapshotEntry } from '../snapshot/entry.ts';
import { errorMessage } from '../snapshot/tree-reader.ts';
import { fetchChunks, type ReadBack } from './fetch-chunks.ts';

interface Window {
  readonly data: Uint8Array[];
  /** Per chunk: gives its memory back for reuse (see BlobReadResult.release), if it can be. */
  readonly releases: ((() => void) | undefined)[];
  readonly units: number;
  readonly end: number;
}

function releaseAll(w: Window): void {
  for (const r of w.releases) r?.();
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
  pooled: boolean,
  readBack: ReadBack | undefined,
): Promise<Pick<Window, 'data' | 'releases'>> {
  const slice = chunks.slice(start, end);
  const got = await fetchChunks(repo, slice, pooled, readBack);
  const failure = got.errors.find((e) => e !== undefined);
  if (failure !== undefined) {
    for (const r of got.releases) r?.();
    throw failure;
  }
  const data = got.data.map((d, i) => {
    const c = slice[i]!;
    if (d === undefined) throw new Error(`chunk ${toHex(c.id)} was not returned by the repository`);
    if (d.length !== c.length) {
      throw new Error(`chunk ${toHex(c.id)} has ${d.length} bytes, the snapshot says ${c.length}`);
    }
    return d;
  });
  return { data, releases: got.releases };
}

/**
 * The content stream of `entry` (a file). With `reuse` (the consumer is done with a chunk when it
 * asks for the next one: Destination.releasesChunks), each chunk's memory is given back for reuse
 * then; without, it is left to the garbage collector. With `readBack`, chunks that files restored
 * before hold are read back from them.
 */
export function fileContent(
  repo: EngineRepository,
  entry: SnapshotEntry,
  budget: Semaphore,
  windowBytes: number,
  signal: AbortSignal | undefined,
  reuse = false,
  readBack?: ReadBack,
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
        return { ...(await fetchWindow(repo, chunks, from, end, reuse, readBack)), units, end };
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
          for (let k = 0; k < w.data.length; k++) {
            signal?.throwIfAborted();
            const d = w.data[k]!;
            total += d.length;
            yield d;
            // The consumer asks for the next chunk: it is done with this one.
            if (reuse) w.releases[k]?.();
          }
        } finally {
          // Also when the consumer stopped early: it reads none of the window any more.
          if (reuse) releaseAll(w);
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
          (w) => {
            releaseAll(w); // never handed out
            budget.release(w.units);
          },
          () => undefined,
        );
    }
  })();
}
