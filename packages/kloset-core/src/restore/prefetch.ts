/**
 * Read-ahead of small files for restore: consecutive entries are grouped into batches, and the
 * chunks of every small file of a batch are fetched with one coalesced read plan (blobs of one
 * packfile close to each other come in one ranged read), instead of one read per file. A batch is
 * fetched while the previous one is being written. Each file's share of the batch stays counted in
 * the byte budget until its content has been written or skipped.
 */
import type { Semaphore } from '@kloset/connector-contract';
import { toHex } from '../encoding/bytes.ts';
import type { EngineRepository } from '../snapshot/engine-repository.ts';
import type { ChunkRef, SnapshotEntry } from '../snapshot/entry.ts';
import { errorMessage } from '../snapshot/tree-reader.ts';
import { fetchChunks, type ReadBack } from './fetch-chunks.ts';
import { RestoreContentError } from './file-content.ts';

/** The content of one small file, fetched with its batch. */
export interface Prefetched {
  /** The file's chunks in order, verified; rejects with a RestoreContentError. */
  readonly data: Promise<Uint8Array[]>;
  /**
   * Gives the file's share of the batch back to the budget (and, with `reuse`, its chunks' memory
   * for reuse: nothing may read them afterwards). Idempotent.
   */
  release(): void;
}

export interface PrefetchLimits {
  /** Files up to this size are prefetched in batches (larger ones stream in windows). */
  readonly smallFileBytes: number;
  /** Content bytes per batch (a batch may exceed it by one small file). */
  readonly batchBytes: number;
  /** Entries per batch, at most. */
  readonly batchEntries: number;
  /** Chunks' memory is given back for reuse when their file is released. */
  readonly reuse: boolean;
  /** Chunks that files restored before hold are read back from them. */
  readonly readBack?: ReadBack | undefined;
}

interface Item<T> {
  readonly item: T;
  readonly prefetched?: Prefetched;
}

/** True for a file whose content is fetched in batches. */
function isSmall(e: SnapshotEntry, limit: number): boolean {
  return e.type === 'file' && e.error === undefined && e.chunks.length > 0 && e.size <= limit;
}

/** Fetches the chunks of `files` (in one coalesced plan) into per-file promises. */
function fetchBatch(
  repo: EngineRepository,
  files: readonly SnapshotEntry[],
  budget: Semaphore,
  bytes: number,
  reuse: boolean,
  readBack: ReadBack | undefined,
): Prefetched[] {
  if (files.length === 0) return [];
  let pending = files.length;
  let units = 0;
  const acquired = budget.acquire(bytes).then((u) => {
    units = u;
  });
  const releaseOne = () => {
    pending--;
    if (pending === 0) void acquired.then(() => budget.release(units));
  };
  const fetched = acquired.then(async () => {
    const chunks: ChunkRef[] = [];
    const owner: number[] = [];
    files.forEach((f, i) => {
      for (const c of f.chunks) {
        chunks.push(c);
        owner.push(i);
      }
    });
    const got = await fetchChunks(repo, chunks, reuse, readBack);
    const errors: (Error | undefined)[] = new Array(files.length);
    got.errors.forEach((err, k) => {
      if (err !== undefined) errors[owner[k]!] ??= err;
    });
    return { data: got.data, errors, releases: got.releases };
  });
  let first = 0;
  return files.map((f, i) => {
    const start = first;
    first += f.chunks.length;
    let released = false;
    const content = fetched.then(
      ({ data, errors }) => {
        const err = errors[i];
        if (err !== undefined) {
          throw new RestoreContentError(`cannot restore ${f.path}: ${err.message}`, { cause: err });
        }
        let total = 0;
        const out = f.chunks.map((c, k) => {
          const d = data[start + k];
          if (d === undefined || d.length !== c.length) {
            throw new RestoreContentError(
              `cannot restore ${f.path}: chunk ${toHex(c.id)} has ${d?.length ?? 'no'} bytes, the snapshot says ${c.length}`,
            );
          }
          total += d.length;
          return d;
        });
        if (total !== f.size) {
          throw new RestoreContentError(
            `cannot restore ${f.path}: its chunks hold ${total} bytes, the snapshot says ${f.size}`,
          );
        }
        return out;
      },
      (err: unknown) => {
        throw new RestoreContentError(`cannot restore ${f.path}: ${errorMessage(err)}`, { cause: err });
      },
    );
    content.catch(() => undefined); // observed by the writer, or released unwritten
    return {
      data: content,
      release() {
        if (released) return;
        released = true;
        releaseOne();
        if (reuse) {
          void fetched.then(
            ({ releases }) => {
              for (let k = start; k < start + f.chunks.length; k++) releases[k]?.();
            },
            () => undefined,
          );
        }
      },
    };
  });
}

/**
 * Passes `items` through, attaching to each small file the promise of its content, fetched in
 * batches one batch ahead. Items left unconsumed when the caller stops are released.
 */
export async function* prefetchSmallFiles<T>(
  items: AsyncIterable<T>,
  entryOf: (item: T) => SnapshotEntry,
  repo: EngineRepository,
  budget: Semaphore,
  limits: PrefetchLimits,
): AsyncGenerator<Item<T>> {
  const it = items[Symbol.asyncIterator]();
  let exhausted = false;
  const nextBatch = async (): Promise<Item<T>[]> => {
    const raw: T[] = [];
    const small: number[] = [];
    let bytes = 0;
    while (!exhausted && raw.length < limits.batchEntries && bytes < limits.batchBytes) {
      const r = await it.next();
      if (r.done === true) {
        exhausted = true;
        break;
      }
      const e = entryOf(r.value);
      if (isSmall(e, limits.smallFileBytes)) {
        small.push(raw.length);
        bytes += e.size;
      }
      raw.push(r.value);
    }
    const fetched = fetchBatch(
      repo,
      small.map((i) => entryOf(raw[i]!)),
      budget,
      bytes,
      limits.reuse,
      limits.readBack,
    );
    const out: Item<T>[] = raw.map((item) => ({ item }));
    small.forEach((i, k) => {
      out[i] = { item: raw[i]!, prefetched: fetched[k]! };
    });
    return out;
  };
  let current: Item<T>[] = [];
  let next: Promise<Item<T>[]> | undefined;
  let index = 0;
  try {
    current = await nextBatch();
    while (current.length > 0) {
      next = exhausted ? undefined : nextBatch();
      next?.catch(() => undefined);
      for (index = 0; index < current.length; index++) yield current[index]!;
      current = next === undefined ? [] : await next;
      next = undefined;
    }
  } finally {
    // current[index] was handed to the caller (a generator is closed at a yield): the rest was not.
    for (let i = index + 1; i < current.length; i++) current[i]!.prefetched?.release();
    if (next !== undefined) {
      void next.then(
        (items) => {
          for (const x of items) x.prefetched?.release();
        },
        () => undefined,
      );
    }
    await it.return?.();
  }
}
