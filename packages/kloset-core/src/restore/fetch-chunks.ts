/**
 * Fetching the chunks a restore writes: from files restored earlier in the same restore when they
 * hold them (see written-chunks.ts), else from the store, verified, with coalesced reads where the
 * repository offers them.
 */
import type { Destination } from '@kloset/connector-contract';
import { type BlobId, BlobKind } from '../repository/blob-store.ts';
import { shareBuffer } from '../repository/read-buffers.ts';
import type { EngineRepository } from '../snapshot/engine-repository.ts';
import type { ChunkRef } from '../snapshot/entry.ts';
import { errorMessage } from '../snapshot/tree-reader.ts';
import type { WrittenChunks } from './written-chunks.ts';

/** Reading chunks back from the destination: what was restored where, and how to read it. */
export interface ReadBack {
  readonly chunks: WrittenChunks;
  readonly read: NonNullable<Destination['readWritten']>;
}

/** Per chunk (same positions as the chunks asked for): its bytes, or why it could not be had. */
export interface FetchedChunks {
  readonly data: (Uint8Array | undefined)[];
  /** Gives a chunk's memory back for reuse (pooled reads only). */
  readonly releases: ((() => void) | undefined)[];
  readonly errors: (Error | undefined)[];
}

type Buffers = NonNullable<EngineRepository['readBuffers']>;

/** Consecutive chunks that lie one after the other in one restored file. */
interface Run {
  readonly path: string;
  readonly offset: number;
  length: number;
  readonly indexes: number[];
}

/** Read-backs in flight at once, per call. */
const READ_BACK_CONCURRENCY = 8;

function planRuns(chunks: readonly ChunkRef[], readBack: ReadBack, fromStore: number[]): Run[] {
  const runs: Run[] = [];
  let run: Run | undefined;
  chunks.forEach((c, i) => {
    const at = readBack.chunks.find(c.id);
    if (at === undefined) {
      fromStore.push(i);
      run = undefined;
    } else if (run !== undefined && run.path === at.path && run.offset + run.length === at.offset) {
      run.length += c.length;
      run.indexes.push(i);
    } else {
      run = { path: at.path, offset: at.offset, length: c.length, indexes: [i] };
      runs.push(run);
    }
  });
  return runs;
}

/** Reads `runs` back; resolves with the positions of the chunks that could not be. */
async function readRuns(
  runs: readonly Run[],
  chunks: readonly ChunkRef[],
  readBack: ReadBack,
  pool: Buffers | undefined,
  out: FetchedChunks,
): Promise<number[]> {
  const failed: number[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < runs.length) {
      const run = runs[next++]!;
      const buffer = pool?.take(run.length);
      const into = buffer?.subarray(0, run.length) ?? new Uint8Array(run.length);
      const got = await readBack.read(run.path, run.offset, into);
      if (got === undefined || got.length !== run.length) {
        if (buffer !== undefined) pool?.give(buffer);
        for (const i of run.indexes) {
          readBack.chunks.forget(chunks[i]!.id);
          failed.push(i);
        }
        continue;
      }
      const releases =
        pool !== undefined && buffer !== undefined ? shareBuffer(pool, buffer, run.indexes.length) : [];
      let at = 0;
      run.indexes.forEach((i, k) => {
        const length = chunks[i]!.length;
        out.data[i] = got.subarray(at, at + length);
        out.releases[i] = releases[k];
        at += length;
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(READ_BACK_CONCURRENCY, runs.length) }, worker));
  return failed;
}

async function fetchFromStore(
  repo: EngineRepository,
  chunks: readonly ChunkRef[],
  indexes: readonly number[],
  pooled: boolean,
  out: FetchedChunks,
): Promise<void> {
  if (indexes.length === 0) return;
  const fail = (i: number, err: unknown) => {
    out.errors[i] ??= err instanceof Error ? err : new Error(errorMessage(err));
  };
  if (repo.getBlobs !== undefined) {
    const ids: BlobId[] = indexes.map((i) => chunks[i]!.id);
    for await (const r of repo.getBlobs(BlobKind.Chunk, ids, { pooled })) {
      const i = indexes[r.index]!;
      if (r.ok) {
        out.data[i] = r.data;
        out.releases[i] = r.release;
      } else fail(i, r.error);
    }
    return;
  }
  for (let k = 0; k < indexes.length; k += 8) {
    await Promise.all(
      indexes.slice(k, k + 8).map((i) =>
        repo.getBlob(BlobKind.Chunk, chunks[i]!.id).then(
          (d) => {
            out.data[i] = d;
          },
          (err: unknown) => fail(i, err),
        ),
      ),
    );
  }
}

/**
 * Fetches `chunks`: those that `readBack` knows of are read back from the destination (runs of
 * consecutive ones in one read; a read-back that fails falls back to the store), the others come
 * from the store (into reusable buffers when `pooled`). Errors are per chunk; nothing is thrown.
 */
export async function fetchChunks(
  repo: EngineRepository,
  chunks: readonly ChunkRef[],
  pooled: boolean,
  readBack: ReadBack | undefined,
): Promise<FetchedChunks> {
  const out: FetchedChunks = {
    data: new Array(chunks.length),
    releases: new Array(chunks.length),
    errors: new Array(chunks.length),
  };
  if (readBack === undefined) {
    await fetchFromStore(
      repo,
      chunks,
      chunks.map((_, i) => i),
      pooled,
      out,
    );
    return out;
  }
  const fromStore: number[] = [];
  const runs = planRuns(chunks, readBack, fromStore);
  const [failed] = await Promise.all([
    readRuns(runs, chunks, readBack, pooled ? repo.readBuffers : undefined, out),
    fetchFromStore(repo, chunks, fromStore, pooled, out),
  ]);
  await fetchFromStore(repo, chunks, failed, pooled, out);
  return out;
}
