/**
 * Repacking, for maintenance: the live (marked) blobs of a partly used packfile are read, each
 * verified, and stored again in new packfiles of the current session. The caller flushes (new
 * packfiles, then a state listing them, FORMAT.md §6) before it records the old packfile as
 * deleted, so at every moment each live blob is in the index somewhere.
 */
import { toHex } from '../encoding/bytes.ts';
import { BlobKind } from '../repository/blob-store.ts';
import { MaintenanceRefusedError, type MaintenanceRepository } from './maintenance-options.ts';
import type { MarkSet } from './mark-set.ts';

/** Copies the marked blobs of `packId` into new packfiles; returns the bytes copied (sealed lengths). */
export async function repackPackfile(
  repo: MaintenanceRepository,
  marks: MarkSet,
  packId: Uint8Array,
  signal: AbortSignal | undefined,
): Promise<number> {
  const live = repo.indexedBlobs(packId).filter((b) => marks.isMarked(b.kind, b.id));
  let bytes = 0;
  for (const kind of [BlobKind.Chunk, BlobKind.Tree]) {
    const ids = live.filter((b) => b.kind === kind).map((b) => b.id);
    if (ids.length === 0) continue;
    for await (const r of repo.getBlobs(kind, ids)) {
      signal?.throwIfAborted();
      if (!r.ok) {
        throw new MaintenanceRefusedError(
          `maintenance stopped, nothing deleted: cannot repack packfile ${toHex(packId)}: ${r.error.message}; run check`,
        );
      }
      await repo.rewriteBlob(kind, r.data);
    }
  }
  for (const b of live) bytes += b.length;
  return bytes;
}
