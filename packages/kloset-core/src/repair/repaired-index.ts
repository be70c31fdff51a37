/**
 * The index a snapshot is judged against in repair (step 6). After a real repair it is the
 * repository's own index, brought up to date from the repaired store. A dry run writes nothing, so
 * it is the index as it will be: the copies in packfiles that stay (in storage, not deleted by the
 * repair), plus the blobs of packfiles listed again from their own index and the blobs salvaged
 * from damaged packfiles (read where they are now). Memory: one record per such blob.
 */
import { toHex } from '../encoding/bytes.ts';
import type { PackIndexEntry } from '../packfile/index-codec.ts';
import { openBlobAt, packfileKey } from '../packfile/reader.ts';
import { type BlobId, BlobKind, type BlobLocation } from '../repository/blob-store.ts';
import { MissingBlobError } from '../repository/errors.ts';
import type { Repository } from '../repository/repository.ts';
import type { RepairedIndex } from './snapshot-repair.ts';

/** The repository's index, once the repaired states and deletions are applied to it. */
export function liveIndex(repo: Repository): RepairedIndex {
  return {
    has: (kind, id) => repo.hasBlob(kind, id),
    getTree: (id) => repo.getBlob(BlobKind.Tree, id),
  };
}

/** The index a dry run predicts (see the module comment). */
export class PredictedIndex implements RepairedIndex {
  readonly #repo: Repository;
  /** Packfiles in storage, and those the repair deletes. */
  readonly #present: ReadonlySet<string>;
  readonly #doomed: ReadonlySet<string>;
  readonly #chunks = new Set<string>();
  readonly #trees = new Map<string, BlobLocation>();

  constructor(repo: Repository, present: ReadonlySet<string>, doomed: ReadonlySet<string>) {
    this.#repo = repo;
    this.#present = present;
    this.#doomed = doomed;
  }

  /** Blobs of `packId` that the repair lists again, or salvages (read from `packId` meanwhile). */
  add(packId: Uint8Array, entries: readonly PackIndexEntry[]): void {
    for (const e of entries) {
      const key = toHex(e.id);
      if (e.kind === BlobKind.Tree) this.#trees.set(key, { ...e, packfile: packId });
      else this.#chunks.add(key);
    }
  }

  #usable(kind: BlobKind, id: BlobId): boolean {
    const loc = this.#repo.locateBlob(kind, id);
    if (loc === undefined) return false;
    const pack = toHex(loc.packfile);
    return this.#present.has(pack) && !this.#doomed.has(pack);
  }

  has(kind: BlobKind, id: BlobId): boolean {
    if (this.#usable(kind, id)) return true;
    return kind === BlobKind.Tree ? this.#trees.has(toHex(id)) : this.#chunks.has(toHex(id));
  }

  async getTree(id: BlobId): Promise<Uint8Array> {
    if (this.#usable(BlobKind.Tree, id)) return this.#repo.getBlob(BlobKind.Tree, id);
    const loc = this.#trees.get(toHex(id));
    if (loc === undefined) throw new MissingBlobError(id, 'not in the repaired index');
    const repo = this.#repo;
    const sealed = await repo.storage.get('packfile', toHex(loc.packfile), {
      offset: loc.offset,
      length: loc.length,
    });
    const ctx = { provider: repo.provider, keyRing: repo.keyRing };
    return openBlobAt(ctx, packfileKey(ctx, loc.packfile), loc, sealed);
  }
}
