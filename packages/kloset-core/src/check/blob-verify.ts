/**
 * The full check's second phase: every chunk referenced by the checked snapshots is read and
 * verified once. References were sorted by (packfile, offset, blob), so blobs are read packfile by
 * packfile in offset order, in batches through coalesced ranged reads (each packfile is read once);
 * a blob that fails is reported for every (snapshot, path) that references it.
 */

import { toHex } from '../encoding/bytes.ts';
import { type BlobId, BlobKind } from '../repository/blob-store.ts';
import { MissingBlobError } from '../repository/errors.ts';
import type { EngineRepository } from '../snapshot/engine-repository.ts';
import type { SortedRecord } from '../snapshot/external-sorter.ts';
import { errorMessage } from '../snapshot/tree-reader.ts';
import type { CheckProblem } from './check-options.ts';

/** Reports of one blob kept at most (the rest are counted). */
export const MAX_AFFECTED_PER_BLOB = 1000;

/** The sort key of a chunk reference: packfile(32) || u64be(offset) || blob id(32). */
export function chunkRefKey(packfile: Uint8Array, offset: number, id: BlobId): Buffer {
  const key = Buffer.allocUnsafe(72);
  key.set(packfile, 0);
  key.writeBigUInt64BE(BigInt(offset), 32);
  key.set(id, 40);
  return key;
}

/** The value of a chunk reference: snapshot id(32) || path (UTF-8). */
export function chunkRefValue(snapshot: Uint8Array, path: string): Buffer {
  return Buffer.concat([snapshot, Buffer.from(path, 'utf8')]);
}

interface Group {
  readonly id: BlobId;
  readonly packfile: Uint8Array;
  readonly affected: Map<string, { snapshot: string; path: string }>;
}

/** Counters updated as blobs are verified. */
export interface VerifyCounters {
  blobs: number;
  bytes: number;
}

/** Verifies every distinct blob of `refs` (sorted chunk references); calls `report` per affected file. */
export async function verifyChunkRefs(
  repo: EngineRepository,
  refs: AsyncIterable<SortedRecord>,
  batchBlobs: number,
  counters: VerifyCounters,
  report: (p: CheckProblem) => void,
  signal?: AbortSignal,
): Promise<void> {
  let batch: Group[] = [];

  const fail = (g: Group, err: unknown) => {
    const missing = err instanceof MissingBlobError;
    for (const a of g.affected.values()) {
      report({
        kind: missing ? 'missing-packfile' : 'corrupt-blob',
        message: `${a.path} in snapshot ${a.snapshot.slice(0, 8)}: ${errorMessage(err)}`,
        snapshot: a.snapshot,
        path: a.path,
        blob: toHex(g.id),
        packfile: toHex(g.packfile),
      });
    }
  };

  const flush = async () => {
    signal?.throwIfAborted();
    const groups = batch;
    batch = [];
    const ids = groups.map((g) => g.id);
    counters.blobs += groups.length;
    if (repo.getBlobs !== undefined) {
      // A read that fails as a whole (e.g. a range past the end of a truncated packfile) fails
      // the blobs of the batch not yet settled, each reported with its files; the check goes on.
      const settled = new Set<number>();
      try {
        for await (const r of repo.getBlobs(BlobKind.Chunk, ids)) {
          settled.add(r.index);
          if (r.ok) counters.bytes += r.data.length;
          else fail(groups[r.index]!, r.error);
        }
      } catch (err) {
        signal?.throwIfAborted();
        groups.forEach((g, i) => {
          if (!settled.has(i)) fail(g, err);
        });
      }
      return;
    }
    for (let i = 0; i < groups.length; i += 8) {
      await Promise.all(
        groups.slice(i, i + 8).map((g) =>
          repo.getBlob(BlobKind.Chunk, g.id).then(
            (data) => {
              counters.bytes += data.length;
            },
            (err: unknown) => fail(g, err),
          ),
        ),
      );
    }
  };

  let current: Group | undefined;
  let currentKey: Buffer | undefined;
  for await (const { key, value } of refs) {
    if (currentKey === undefined || !currentKey.equals(key)) {
      if (current !== undefined) {
        batch.push(current);
        if (batch.length >= batchBlobs) await flush();
      }
      currentKey = key;
      current = { id: key.subarray(40, 72), packfile: key.subarray(0, 32), affected: new Map() };
    }
    if (current!.affected.size < MAX_AFFECTED_PER_BLOB) {
      const snapshot = value.subarray(0, 32).toString('hex');
      const path = value.subarray(32).toString('utf8');
      current!.affected.set(`${snapshot}${path}`, { snapshot, path });
    }
  }
  if (current !== undefined) batch.push(current);
  if (batch.length > 0) await flush();
}
