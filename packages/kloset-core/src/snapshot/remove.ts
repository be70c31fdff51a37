/** `rm`: deletes snapshot headers under an exclusive lock (the data goes with maintenance). */
import { acquireLock } from '../repository/locks.ts';
import type { ResourceStore } from '../repository/resource-store.ts';
import type { SnapshotHeader } from './header.ts';
import { resolveSnapshot, type SnapshotRef } from './snapshots.ts';

export interface RemoveOptions {
  /** Lock behaviour overrides (tests). */
  readonly lock?: { readonly staleAfterMs?: number; readonly refreshIntervalMs?: number };
}

/**
 * Resolves every reference first (nothing is deleted if one does not resolve), then deletes the
 * headers, all under an exclusive lock. Returns the removed headers.
 */
export async function removeSnapshots(
  store: ResourceStore,
  refs: readonly SnapshotRef[],
  options: RemoveOptions = {},
): Promise<SnapshotHeader[]> {
  const lock = await acquireLock(store, { exclusive: true, ...options.lock });
  try {
    const headers: SnapshotHeader[] = [];
    for (const ref of refs) headers.push(await resolveSnapshot(store, ref));
    for (const h of headers) await store.deleteResource('snapshot', h.id);
    return headers;
  } finally {
    await lock.release();
  }
}
