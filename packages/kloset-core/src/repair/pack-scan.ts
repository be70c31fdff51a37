/**
 * Repair, steps 2 and 4 for one packfile in storage: its own index (footer, then index, FORMAT.md
 * §5) and, unless fast, every blob it holds verified against that index (GCM tag, raw length, MAC).
 * A packfile with corrupt blobs hands back the plaintexts of its good ones, to be stored again.
 */

import { CorruptDataError } from '../crypto/errors.ts';
import { toHex } from '../encoding/bytes.ts';
import { FOOTER_SEALED_LENGTH } from '../packfile/footer.ts';
import type { PackIndexEntry } from '../packfile/index-codec.ts';
import {
  openBlobAt,
  type PackReadContext,
  packfileKey,
  parseFooter,
  parsePackIndex,
  readPackIndex,
} from '../packfile/reader.ts';
import type { BlobLocation } from '../repository/blob-store.ts';
import { CorruptPackfileError, reasonOf } from '../repository/errors.ts';
import type { Repository } from '../repository/repository.ts';

/** A blob read and verified, with where it was. */
export interface GoodBlob {
  readonly entry: PackIndexEntry;
  readonly data: Uint8Array;
}

/** What reading a packfile found. */
export type PackVerdict =
  | { readonly ok: false; readonly reason: string }
  | {
      readonly ok: true;
      /** The packfile's own index. */
      readonly entries: readonly PackIndexEntry[];
      /** Blobs that fail verification (full scan only), with why. */
      readonly corrupt: readonly { readonly entry: PackIndexEntry; readonly reason: string }[];
      /** When some blobs are corrupt: the good ones, read. */
      readonly good: readonly GoodBlob[];
    };

function ctxOf(repo: Repository): PackReadContext {
  return { provider: repo.provider, keyRing: repo.keyRing };
}

function location(packId: Uint8Array, e: PackIndexEntry): BlobLocation {
  return { ...e, packfile: packId };
}

/** Opens the blobs `entries` at their offsets in `bytes` (a whole packfile, or what is left of it). */
export async function openEntries(
  repo: Repository,
  packId: Uint8Array,
  bytes: Uint8Array,
  entries: readonly PackIndexEntry[],
): Promise<{ good: GoodBlob[]; corrupt: { entry: PackIndexEntry; reason: string }[] }> {
  const ctx = ctxOf(repo);
  const key = packfileKey(ctx, packId);
  const good: GoodBlob[] = [];
  const corrupt: { entry: PackIndexEntry; reason: string }[] = [];
  for (const entry of entries) {
    if (entry.offset + entry.length > bytes.length) {
      corrupt.push({ entry, reason: `past the end of the packfile (${bytes.length} bytes)` });
      continue;
    }
    try {
      const sealed = bytes.subarray(entry.offset, entry.offset + entry.length);
      good.push({ entry, data: await openBlobAt(ctx, key, location(packId, entry), sealed) });
    } catch (err) {
      if (!(err instanceof CorruptDataError)) throw err;
      corrupt.push({ entry, reason: reasonOf(err) });
    }
  }
  return { good, corrupt };
}

/** The own index of a packfile held whole in memory; throws CorruptPackfileError. */
function indexOf(repo: Repository, packId: Uint8Array, bytes: Uint8Array): PackIndexEntry[] {
  if (bytes.length < FOOTER_SEALED_LENGTH) {
    throw new CorruptPackfileError(packId, `${bytes.length} bytes is too short for a packfile`);
  }
  const ctx = ctxOf(repo);
  const key = packfileKey(ctx, packId);
  const footer = parseFooter(ctx, key, bytes.subarray(bytes.length - FOOTER_SEALED_LENGTH), bytes.length);
  const sealed = bytes.subarray(footer.indexOffset, footer.indexOffset + footer.indexLength);
  return parsePackIndex(ctx, key, sealed, footer);
}

/** Reads the whole packfile. */
export function readWhole(repo: Repository, packId: Uint8Array): Promise<Uint8Array> {
  return repo.storage.get('packfile', toHex(packId));
}

/**
 * Reads packfile `packId` of `size` bytes (as listed): fast, its index only; else whole, with every
 * blob verified. Storage failures are thrown; a damaged packfile gives a verdict.
 */
export async function scanPackfile(
  repo: Repository,
  packId: Uint8Array,
  size: number,
  fast: boolean,
): Promise<PackVerdict> {
  try {
    if (fast) {
      const entries = await readPackIndex(repo.storage, ctxOf(repo), packId, size);
      return { ok: true, entries, corrupt: [], good: [] };
    }
    const bytes = await readWhole(repo, packId);
    const entries = indexOf(repo, packId, bytes);
    const { good, corrupt } = await openEntries(repo, packId, bytes, entries);
    return { ok: true, entries, corrupt, good: corrupt.length > 0 ? good : [] };
  } catch (err) {
    if (err instanceof CorruptPackfileError) return { ok: false, reason: err.reason };
    throw err;
  }
}
