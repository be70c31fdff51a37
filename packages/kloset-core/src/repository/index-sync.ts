/**
 * Brings the index cache up to date with the store (FORMAT.md §6): lists the states (streaming),
 * reads and applies those not applied yet with bounded concurrency, and reports states the cache
 * knows but the store no longer lists (the caller then rebuilds the cache).
 */
import { isNotFound, type Storage } from '@kloset/connector-contract';
import type { KeyRing } from '../crypto/key-ring.ts';
import type { CryptoProvider } from '../crypto/provider.ts';
import { openResource } from '../crypto/seal.ts';
import { fromHexId } from '../encoding/bytes.ts';
import { CorruptResourceError, reasonOf } from './errors.ts';
import type { IndexCache } from './index-cache.ts';
import { decodeState, type StateBody } from './state-codec.ts';
import { TaskPool } from './task-pool.ts';

/** A state the store lists that cannot be read (it fails authentication or does not parse). */
export interface UnreadableState {
  /** Hex id. */
  readonly id: string;
  readonly reason: string;
}

/** Unreadable states named one by one at most; `unreadableCount` counts them all. */
const MAX_UNREADABLE_NAMED = 100;

/** What a sync did. */
export interface SyncResult {
  /** States read and applied now. */
  readonly applied: number;
  /** States listed by the store. */
  readonly listed: number;
  /** States in the cache that the store no longer lists. */
  readonly vanished: number;
  /**
   * Listed states that could not be read (the first 100): not applied, so the index lacks what
   * they list; a damaged store (`check` reports it, `repair` rebuilds them from the packfiles).
   */
  readonly unreadable: readonly UnreadableState[];
  /** All unreadable states. */
  readonly unreadableCount: number;
}

/** Reads and opens one state; throws CorruptResourceError naming it when it fails a check. */
export async function readState(
  storage: Storage,
  provider: CryptoProvider,
  keyRing: KeyRing,
  stateId: Uint8Array,
  hexId: string,
): Promise<StateBody> {
  const bytes = await storage.get('state', hexId);
  let plain: Uint8Array;
  try {
    plain = await openResource(provider, keyRing, 'state', stateId, bytes);
  } catch (err) {
    throw new CorruptResourceError('state', stateId, reasonOf(err), { cause: err });
  }
  try {
    return decodeState(plain);
  } catch (err) {
    throw new CorruptResourceError('state', stateId, reasonOf(err), { cause: err });
  }
}

/**
 * Applies every listed state not yet in `cache`. A state deleted between list and get is skipped;
 * a state that cannot be read is not applied (nor marked applied: the next sync tries it again)
 * and is reported in the result, so that one damaged state does not make the store unusable.
 * Memory: the listing streams; at most `concurrency` decoded states (each at most 100,000 blobs)
 * are held at once.
 */
export async function syncIndex(
  storage: Storage,
  provider: CryptoProvider,
  keyRing: KeyRing,
  cache: IndexCache,
  concurrency = 4,
): Promise<SyncResult> {
  const pool = new TaskPool(concurrency, 'state read');
  let applied = 0;
  let listed = 0;
  const unreadable: UnreadableState[] = [];
  let unreadableCount = 0;
  let deletions = false;
  cache.beginListing();
  for await (const info of storage.list('state')) {
    const stateId = fromHexId(info.id, 'state id');
    listed++;
    cache.markListed(stateId);
    if (cache.isStateApplied(stateId)) continue;
    await pool.run(async () => {
      let state: StateBody;
      try {
        state = await readState(storage, provider, keyRing, stateId, info.id);
      } catch (err) {
        if (isNotFound(err)) return;
        if (!(err instanceof CorruptResourceError)) throw err;
        unreadableCount++;
        if (unreadable.length < MAX_UNREADABLE_NAMED) unreadable.push({ id: info.id, reason: reasonOf(err) });
        return;
      }
      if (cache.applyState(stateId, state.packfiles, state.deletedPackfiles, state.time)) deletions = true;
      applied++;
    });
  }
  await pool.drain();
  if (deletions) cache.purgeDeleted();
  return { applied, listed, vanished: cache.vanishedStates(), unreadable, unreadableCount };
}
