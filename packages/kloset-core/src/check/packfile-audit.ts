/**
 * `check`'s audit of the store's own bytes against its states (FORMAT.md §5, §6), before any
 * snapshot is walked:
 * - states: every state the store lists was read and authenticated when the index was built
 *   (check runs on an index built from the store alone); the unreadable ones are problems;
 * - every packfile the states list is in storage, with the size they give (fast and full);
 * - full: every such packfile's own index and footer are read and verified, and agree with what
 *   the states say it holds (kind, id, offset, length, raw length of each blob).
 * Packfiles found missing, truncated or corrupt are returned: the tree walk then reports every
 * file whose chunks they hold without reading them.
 */
import { fromHexId, toHex } from '../encoding/bytes.ts';
import type { PackIndexEntry } from '../packfile/index-codec.ts';
import type { BlobId, BlobKind, BlobLocation } from '../repository/blob-store.ts';
import { errorMessage } from '../snapshot/tree-reader.ts';
import type { CheckProblem } from './check-options.ts';

/** What the audit needs of a repository (Repository implements it). */
export interface AuditableRepository {
  /** States the store lists that could not be read while building the index. */
  readonly unreadableStates: {
    readonly states: readonly { readonly id: string; readonly reason: string }[];
    readonly count: number;
  };
  listPackfiles(): AsyncIterable<{ readonly id: Uint8Array; readonly size: number }>;
  indexedPackfiles(): Iterable<Uint8Array>;
  packfileStatus(packId: Uint8Array): { readonly size?: number } | undefined;
  indexedBlobs(packId: Uint8Array): BlobLocation[];
  readPackIndex(packId: Uint8Array, size?: number): Promise<PackIndexEntry[]>;
  /** Takes damaged packfiles out of the index (a copy of their blobs elsewhere then serves). */
  markPackfilesMissing(packIds: readonly Uint8Array[]): void;
  /** A copy of a blob in such a packfile, for messages. */
  locateLostBlob(kind: BlobKind, id: BlobId): BlobLocation | undefined;
}

export function isAuditable(repo: object): repo is AuditableRepository {
  const r = repo as Partial<AuditableRepository>;
  return (
    r.unreadableStates !== undefined &&
    typeof r.indexedPackfiles === 'function' &&
    typeof r.packfileStatus === 'function' &&
    typeof r.indexedBlobs === 'function' &&
    typeof r.readPackIndex === 'function' &&
    typeof r.markPackfilesMissing === 'function' &&
    typeof r.locateLostBlob === 'function'
  );
}

export interface AuditResult {
  /** Hex ids of packfiles the states list that are missing, truncated or corrupt, with why. */
  readonly damaged: Map<string, string>;
  /** Packfiles in storage that no state lists (left by interrupted backups, or by a lost state). */
  readonly unindexed: number;
  /** Packfiles whose own index was read (full). */
  readonly packIndexesRead: number;
}

const REPAIR_HINT = "run 'kloset repair'";

export async function auditPackfiles(
  repo: AuditableRepository,
  full: boolean,
  report: (p: CheckProblem) => void,
  signal?: AbortSignal,
): Promise<AuditResult> {
  for (const s of repo.unreadableStates.states) {
    report({
      kind: 'unreadable-state',
      message: `state ${s.id} cannot be read (${s.reason}): the blobs it lists are not in the index; ${REPAIR_HINT}`,
    });
  }
  const more = repo.unreadableStates.count - repo.unreadableStates.states.length;
  if (more > 0) {
    report({ kind: 'unreadable-state', message: `${more} more states cannot be read; ${REPAIR_HINT}` });
  }

  // Sizes of the packfiles in storage (hex id -> bytes): one entry per packfile of the store.
  const present = new Map<string, number>();
  for await (const p of repo.listPackfiles()) present.set(toHex(p.id), p.size);

  const damaged = new Map<string, string>();
  let packIndexesRead = 0;
  for (const id of repo.indexedPackfiles()) {
    signal?.throwIfAborted();
    const hex = toHex(id);
    const size = present.get(hex);
    present.delete(hex);
    if (size === undefined) {
      damaged.set(hex, 'not in storage');
      report({
        kind: 'missing-packfile',
        message: `packfile ${hex} is listed by the states but not in storage; ${REPAIR_HINT}`,
        packfile: hex,
      });
      continue;
    }
    const expected = repo.packfileStatus(id)?.size;
    if (expected !== undefined && expected !== size) {
      const why = `${size} bytes in storage, ${expected} in the states`;
      damaged.set(hex, `truncated or altered (${why})`);
      report({
        kind: 'packfile-size',
        message: `packfile ${hex} is ${why}; ${REPAIR_HINT}`,
        packfile: hex,
      });
      continue;
    }
    if (!full) continue;
    let own: PackIndexEntry[];
    try {
      own = await repo.readPackIndex(id, size);
      packIndexesRead++;
    } catch (err) {
      signal?.throwIfAborted();
      const why = `its own index cannot be read: ${errorMessage(err)}`;
      damaged.set(hex, why);
      report({ kind: 'corrupt-packfile', message: `packfile ${hex}: ${why}; ${REPAIR_HINT}`, packfile: hex });
      continue;
    }
    const mismatch = compareWithStates(own, repo.indexedBlobs(id));
    if (mismatch !== undefined) {
      damaged.set(hex, mismatch);
      report({
        kind: 'index-mismatch',
        message: `packfile ${hex}: ${mismatch}; ${REPAIR_HINT}`,
        packfile: hex,
      });
    }
  }
  // Lookups from now on take a sound copy of each blob, if there is one (a later backup may have
  // stored the same data again); the tree walk names the files that have none.
  repo.markPackfilesMissing([...damaged.keys()].map((h) => fromHexId(h, 'packfile id')));
  return { damaged, unindexed: present.size, packIndexesRead };
}

/** Why the states' view of a packfile differs from its own index, or undefined if they agree. */
function compareWithStates(
  own: readonly PackIndexEntry[],
  states: readonly BlobLocation[],
): string | undefined {
  const byOffset = new Map<number, PackIndexEntry>();
  for (const e of own) byOffset.set(e.offset, e);
  for (const s of states) {
    const e = byOffset.get(s.offset);
    if (
      e === undefined ||
      e.kind !== s.kind ||
      e.length !== s.length ||
      e.rawLength !== s.rawLength ||
      Buffer.compare(e.id, s.id) !== 0
    ) {
      return `the states say blob ${toHex(s.id)} is at offset ${s.offset} (${s.length} bytes), its own index disagrees`;
    }
  }
  return undefined;
}
