/**
 * `restore` over a destination that already holds entries: what to do with each entry before any
 * of its content is fetched from the store (RestoreOptions.overwrite).
 *
 * - `always`: nothing is looked at; every entry is written, replacing what is there.
 * - `never`: an entry whose place holds anything (a file, object, symlink, directory...) is skipped
 *   (`exists`); directories are merged. The write itself is create-only (WriteOptions.createOnly),
 *   so an entry that appears between the look and the write is not replaced either.
 * - `if-changed`: a file or symlink is skipped (`identical`) when what is at its place holds exactly
 *   its content: same type; for a symlink the same target; for a file the same size, then either
 *   the destination's own exact answer (ExistingEntry.sameContent: an S3 MD5 ETag against the one
 *   recorded at backup) or a comparison of the bytes: the existing file is read in windows along
 *   the snapshot's own chunk boundaries and each piece's keyed blob id (HMAC-SHA-256, as the backup
 *   computed it) must equal the chunk's id. Sizes and mtimes alone are never trusted: a file
 *   rewritten in place with its mtime kept would be skipped. Attributes (mode, mtime, metadata) are
 *   not compared, and a skipped entry keeps its own.
 */
import type { Destination, EntryAttributes, ExistingEntry, Semaphore } from '@kloset/connector-contract';
import { equalBytes } from '../encoding/bytes.ts';
import type { EngineRepository } from '../snapshot/engine-repository.ts';
import type { SnapshotEntry } from '../snapshot/entry.ts';
import { errorMessage } from '../snapshot/tree-reader.ts';
import type { OverwriteMode, SkipReason } from './restore-options.ts';

/** What to do with one entry. */
export interface Decision {
  /** Set when the entry is not written. */
  readonly skip?: SkipReason;
  /** Whether something existed at its place (undefined: not looked at). */
  readonly existed?: boolean;
  /** Why the destination could not be looked at: the entry fails with it. */
  readonly error?: string;
}

/** Bytes of existing content read at once to compare, at most (one window of chunks). */
const COMPARE_WINDOW = 8 * 1024 * 1024;

/** What an overwrite mode needs of a destination. */
export type LookingDestination = Destination & Required<Pick<Destination, 'stat' | 'readExisting'>>;

/** True when the destination can tell what it holds (stat and readExisting). */
export function canLook(d: Destination): d is LookingDestination {
  return d.stat !== undefined && d.readExisting !== undefined;
}

/**
 * True when the file at `attrs`' place holds exactly `entry`'s content, compared chunk by chunk
 * (windows of consecutive chunks, their bytes counted in `budget` while they are read).
 */
async function sameFileContent(
  repo: EngineRepository,
  destination: LookingDestination,
  entry: SnapshotEntry,
  attrs: EntryAttributes,
  budget: Semaphore,
): Promise<boolean> {
  const chunks = entry.chunks;
  let offset = 0;
  let i = 0;
  while (i < chunks.length) {
    let end = i;
    let bytes = 0;
    do {
      bytes += chunks[end]!.length;
      end++;
    } while (end < chunks.length && bytes + chunks[end]!.length <= COMPARE_WINDOW);
    const units = await budget.acquire(bytes);
    try {
      const got = await destination.readExisting(attrs, offset, new Uint8Array(bytes));
      if (got === undefined) return false;
      let at = 0;
      for (let k = i; k < end; k++) {
        const c = chunks[k]!;
        if (!equalBytes(repo.blobId(got.subarray(at, at + c.length)), c.id)) return false;
        at += c.length;
      }
    } finally {
      budget.release(units);
    }
    offset += bytes;
    i = end;
  }
  return offset === entry.size;
}

/** True when `existing` is exactly `entry` as far as content goes (see the module's comment). */
async function sameContent(
  repo: EngineRepository,
  destination: LookingDestination,
  entry: SnapshotEntry,
  attrs: EntryAttributes,
  existing: ExistingEntry,
  budget: Semaphore,
): Promise<boolean> {
  if (existing.type !== entry.type) return false;
  if (entry.type === 'symlink') return existing.linkTarget === entry.linkTarget;
  if (entry.type !== 'file' || existing.size !== entry.size) return false;
  if (entry.size === 0) return true;
  if (existing.sameContent !== undefined) return existing.sameContent;
  return sameFileContent(repo, destination, entry, attrs, budget);
}

/**
 * Decides what to do with `entry` (to be written as `attrs`) under `mode`. Never rejects: a
 * destination that cannot tell what it holds makes the entry fail (`error`). Directories are never
 * skipped; entries that were backed up with an error are not looked at (they fail anyway).
 */
export async function decide(
  mode: OverwriteMode,
  repo: EngineRepository,
  destination: LookingDestination,
  entry: SnapshotEntry,
  attrs: EntryAttributes,
  budget: Semaphore,
): Promise<Decision> {
  if (mode === 'always' || entry.error !== undefined) return {};
  try {
    const existing = await destination.stat(attrs);
    if (existing === undefined) return { existed: false };
    if (entry.type === 'directory') return { existed: true };
    if (mode === 'never') return { skip: 'exists', existed: true };
    const same = await sameContent(repo, destination, entry, attrs, existing, budget);
    return same ? { skip: 'identical', existed: true } : { existed: true };
  } catch (err) {
    return { error: `cannot tell what ${destination.location} holds at ${attrs.path}: ${errorMessage(err)}` };
  }
}

/**
 * Maps `items` through `fn` with up to `limit` calls in flight, yielding the results in the order
 * of `items`. `fn` is called in that order too, each call started synchronously after the previous.
 */
export async function* mapOrdered<T, R>(
  items: AsyncIterable<T>,
  limit: number,
  fn: (item: T) => Promise<R>,
): AsyncGenerator<R> {
  const it = items[Symbol.asyncIterator]();
  const queue: Promise<R>[] = [];
  let done = false;
  try {
    for (;;) {
      while (!done && queue.length < limit) {
        const r = await it.next();
        if (r.done === true) done = true;
        else {
          const p = fn(r.value);
          p.catch(() => undefined);
          queue.push(p);
        }
      }
      const next = queue.shift();
      if (next === undefined) return;
      yield await next;
    }
  } finally {
    if (!done) await it.return?.();
  }
}
