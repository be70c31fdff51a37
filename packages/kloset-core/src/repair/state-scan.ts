/**
 * Repair, step 1: every state of the store read from storage (not from the local index cache,
 * which may hold a state that was damaged after it was applied). A state that fails
 * authentication or does not parse is corrupt; the readable ones are summed up per packfile: its
 * size as listed, how many of its blobs they list, which states list it, whether one deletes it.
 * Memory: one small record per packfile, not per blob.
 */
import { isNotFound } from '@kloset/connector-contract';
import { fromHexId, toHex } from '../encoding/bytes.ts';
import type { PackIndexEntry } from '../packfile/index-codec.ts';
import { CorruptResourceError, reasonOf } from '../repository/errors.ts';
import { readState } from '../repository/index-sync.ts';
import type { Repository } from '../repository/repository.ts';
import { TaskPool } from '../repository/task-pool.ts';

/** What the readable states say of one packfile. */
export interface PackListing {
  /** The size a state gave (the last one read, when several). */
  size: number | undefined;
  /** Two states gave different sizes. */
  sizeConflict: boolean;
  /** Blob entries the states list for it (a writer lists each blob of a packfile once). */
  blobs: number;
  /** Hex ids of the states listing it. */
  readonly states: string[];
  /** A state lists it in `deleted_packfiles`. */
  deleted: boolean;
}

export interface CorruptState {
  readonly id: Uint8Array;
  readonly hex: string;
  readonly reason: string;
}

export interface StateScan {
  /** States listed by the store. */
  readonly listed: number;
  readonly corrupt: readonly CorruptState[];
  /** By hex packfile id. */
  readonly packs: ReadonlyMap<string, PackListing>;
}

function listingOf(packs: Map<string, PackListing>, hex: string): PackListing {
  let l = packs.get(hex);
  if (l === undefined) {
    l = { size: undefined, sizeConflict: false, blobs: 0, states: [], deleted: false };
    packs.set(hex, l);
  }
  return l;
}

/** Reads every state of the store; storage failures other than not-found are thrown. */
export async function scanStates(
  repo: Repository,
  concurrency: number,
  signal?: AbortSignal,
  onState?: (done: number) => void,
): Promise<StateScan> {
  const pool = new TaskPool(concurrency, 'state read');
  const packs = new Map<string, PackListing>();
  const corrupt: CorruptState[] = [];
  let listed = 0;
  let done = 0;
  for await (const info of repo.storage.list('state')) {
    signal?.throwIfAborted();
    listed++;
    const id = fromHexId(info.id, 'state id');
    await pool.run(async () => {
      try {
        const state = await readState(repo.storage, repo.provider, repo.keyRing, id, info.id);
        for (const p of state.packfiles) {
          const l = listingOf(packs, toHex(p.id));
          if (p.size !== undefined) {
            if (l.size !== undefined && l.size !== p.size) l.sizeConflict = true;
            l.size = p.size;
          }
          l.blobs += p.blobs.length;
          l.states.push(info.id);
        }
        for (const d of state.deletedPackfiles) listingOf(packs, toHex(d)).deleted = true;
      } catch (err) {
        if (isNotFound(err)) return;
        if (!(err instanceof CorruptResourceError)) throw err;
        corrupt.push({ id, hex: info.id, reason: reasonOf(err) });
      }
      onState?.(++done);
    });
  }
  await pool.drain();
  return { listed, corrupt, packs };
}

/** The blobs the readable states `stateHexes` list for packfile `packHex` (read again), by offset. */
export async function listedBlobs(
  repo: Repository,
  packHex: string,
  stateHexes: readonly string[],
): Promise<PackIndexEntry[]> {
  const byOffset = new Map<number, PackIndexEntry>();
  for (const hex of stateHexes) {
    const state = await readState(repo.storage, repo.provider, repo.keyRing, fromHexId(hex, 'state id'), hex);
    for (const p of state.packfiles) {
      if (toHex(p.id) !== packHex) continue;
      for (const b of p.blobs) byOffset.set(b.offset, b);
    }
  }
  return [...byOffset.values()].sort((a, b) => a.offset - b.offset);
}
