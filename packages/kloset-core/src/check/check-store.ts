/**
 * `check` as a user runs it on a store: on an index built from the store alone (what a new client
 * sees, whatever this client's cache holds), so that a damaged state or packfile is found even with
 * a warm cache, and a damaged cache is never blamed on the store. Then:
 * - this client's cache is compared with that index; a cache that differs (or whose file SQLite
 *   finds damaged) is set aside and rebuilt from the store, and said so once (not a problem of
 *   the store);
 * - what the check found lost leaves this client's index (packfiles missing, truncated or
 *   corrupt; copies of blobs that fail verification), so that the next backup stores the
 *   affected data again.
 */

import { fromHexId } from '../encoding/bytes.ts';
import { BlobKind } from '../repository/blob-store.ts';
import type { Repository } from '../repository/repository.ts';
import { check } from './check.ts';
import type { CheckOptions, CheckProblem, CheckResult } from './check-options.ts';

export interface CheckStoreResult extends CheckResult {
  /** Why this client's index cache was found wrong and rebuilt from the store, if it was. */
  readonly cacheRebuilt?: string;
  /** Problems `kloset repair` can act on were found. */
  readonly repairAdvised: boolean;
}

/** Packfile damage: the packfile's blobs leave this client's index. */
const PACKFILE_DAMAGE: ReadonlySet<CheckProblem['kind']> = new Set([
  'missing-packfile',
  'packfile-size',
  'corrupt-packfile',
  'index-mismatch',
]);

/** Blobs failing verification remembered at most (each leaves this client's index). */
const MAX_CORRUPT_BLOBS = 100_000;

export async function checkStore(repo: Repository, options: CheckOptions = {}): Promise<CheckStoreResult> {
  const damagedPackfiles = new Set<string>();
  const corruptBlobs = new Map<string, { blob: string; packfile: string }>();
  const fresh = await repo.withFreshIndex();
  let result: CheckResult;
  let cacheRebuilt: string | undefined;
  try {
    result = await check(fresh, {
      ...options,
      onProblem: (p) => {
        if (p.packfile !== undefined && PACKFILE_DAMAGE.has(p.kind) && p.blob === undefined) {
          damagedPackfiles.add(p.packfile);
        }
        if (p.kind === 'corrupt-blob' && p.blob !== undefined && p.packfile !== undefined) {
          if (corruptBlobs.size < MAX_CORRUPT_BLOBS) {
            corruptBlobs.set(`${p.blob}${p.packfile}`, { blob: p.blob, packfile: p.packfile });
          }
        }
        options.onProblem?.(p);
      },
    });
    cacheRebuilt = repo.cacheDifference(fresh);
  } finally {
    await fresh.close();
  }
  if (cacheRebuilt !== undefined)
    await repo.rebuildIndex(`the local index cache differs from the store: ${cacheRebuilt}`);
  repo.markPackfilesMissing([...damagedPackfiles].map((h) => fromHexId(h, 'packfile id')));
  for (const { blob, packfile } of corruptBlobs.values()) {
    repo.forgetCorruptBlob(BlobKind.Chunk, fromHexId(blob, 'blob id'), fromHexId(packfile, 'packfile id'));
  }
  return {
    ...result,
    repairAdvised: result.problems > 0,
    ...(cacheRebuilt === undefined ? {} : { cacheRebuilt }),
  };
}
