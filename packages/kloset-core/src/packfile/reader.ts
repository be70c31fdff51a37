/**
 * Reading packfiles (FORMAT.md §5): the footer from the last 33 bytes, the index it points to, and
 * blobs from ranged reads, each verified (GCM tag, raw length, then the MAC over the plaintext).
 */
import type { Storage } from '@kloset/connector-contract';
import type { KeyRing } from '../crypto/key-ring.ts';
import { ObjectKeyCache } from '../crypto/object-key-cache.ts';
import type { CryptoProvider } from '../crypto/provider.ts';
import {
  blobTarget,
  type ObjectKey,
  openPayload,
  openPayloadAsync,
  packFooterTarget,
  packIndexTarget,
  verifyBlobId,
} from '../crypto/seal.ts';
import { toHex } from '../encoding/bytes.ts';
import type { BlobLocation } from '../repository/blob-store.ts';
import { CorruptBlobError, CorruptPackfileError, reasonOf } from '../repository/errors.ts';
import { decodeFooter, FOOTER_SEALED_LENGTH, type PackFooter } from './footer.ts';
import { decodePackIndex, type PackIndexEntry } from './index-codec.ts';

/** How many bytes from the end `readPackIndex` fetches first, hoping to get index and footer at once. */
export const TAIL_READ_SIZE = 64 * 1024;

/** The crypto context needed to read packfiles. */
export interface PackReadContext {
  readonly provider: CryptoProvider;
  readonly keyRing: KeyRing;
}

/** The object key of packfile `packId` (the packfile id is its salt). */
const packfileKeys = new ObjectKeyCache(256);

/** The object key of a packfile (cached: see ObjectKeyCache). */
export function packfileKey(ctx: PackReadContext, packId: Uint8Array): ObjectKey {
  return packfileKeys.get(ctx.provider, ctx.keyRing, packId);
}

/** Opens a sealed footer (the last FOOTER_SEALED_LENGTH bytes of a packfile of `packSize` bytes). */
export function parseFooter(
  ctx: PackReadContext,
  key: ObjectKey,
  sealed: Uint8Array,
  packSize: number,
): PackFooter {
  if (sealed.length !== FOOTER_SEALED_LENGTH) {
    throw new CorruptPackfileError(
      key.salt,
      `footer is ${sealed.length} bytes, expected ${FOOTER_SEALED_LENGTH}`,
    );
  }
  try {
    const plain = openPayload(
      ctx.provider,
      packFooterTarget(key),
      sealed,
      `footer of packfile ${toHex(key.salt)}`,
    );
    return decodeFooter(plain, packSize);
  } catch (err) {
    throw new CorruptPackfileError(key.salt, `footer: ${reasonOf(err)}`, { cause: err });
  }
}

/**
 * Opens a sealed pack index and checks it against the footer: `blob_count` entries, blobs
 * contiguous from offset 0 up to the index.
 */
export function parsePackIndex(
  ctx: PackReadContext,
  key: ObjectKey,
  sealed: Uint8Array,
  footer: PackFooter,
): PackIndexEntry[] {
  const packId = key.salt;
  let entries: PackIndexEntry[];
  try {
    entries = decodePackIndex(
      openPayload(ctx.provider, packIndexTarget(key), sealed, `index of ${toHex(packId)}`),
    );
  } catch (err) {
    throw new CorruptPackfileError(packId, `index: ${reasonOf(err)}`, { cause: err });
  }
  if (entries.length !== footer.blobCount) {
    throw new CorruptPackfileError(
      packId,
      `index lists ${entries.length} blobs, footer says ${footer.blobCount}`,
    );
  }
  let expected = 0;
  for (const [i, e] of entries.entries()) {
    if (e.offset !== expected) {
      throw new CorruptPackfileError(packId, `index entry ${i} at offset ${e.offset}, expected ${expected}`);
    }
    expected += e.length;
  }
  if (expected !== footer.indexOffset) {
    throw new CorruptPackfileError(
      packId,
      `blobs end at ${expected} but the index starts at ${footer.indexOffset}`,
    );
  }
  return entries;
}

/**
 * Reads and verifies the index of packfile `packId` of `packSize` bytes: one ranged read of the
 * tail (index and footer) when the index is small, two otherwise.
 */
export async function readPackIndex(
  storage: Storage,
  ctx: PackReadContext,
  packId: Uint8Array,
  packSize: number,
): Promise<PackIndexEntry[]> {
  if (packSize < FOOTER_SEALED_LENGTH) {
    throw new CorruptPackfileError(packId, `${packSize} bytes is too short for a packfile`);
  }
  const key = packfileKey(ctx, packId);
  const tailLength = Math.min(packSize, TAIL_READ_SIZE);
  const tailOffset = packSize - tailLength;
  const tail = await storage.get('packfile', toHex(packId), { offset: tailOffset, length: tailLength });
  if (tail.length !== tailLength) {
    throw new CorruptPackfileError(
      packId,
      `ranged read returned ${tail.length} bytes, expected ${tailLength}`,
    );
  }
  const footer = parseFooter(ctx, key, tail.subarray(tail.length - FOOTER_SEALED_LENGTH), packSize);
  let sealedIndex: Uint8Array;
  if (footer.indexOffset >= tailOffset) {
    const start = footer.indexOffset - tailOffset;
    sealedIndex = tail.subarray(start, start + footer.indexLength);
  } else {
    sealedIndex = await storage.get('packfile', toHex(packId), {
      offset: footer.indexOffset,
      length: footer.indexLength,
    });
  }
  return parsePackIndex(ctx, key, sealedIndex, footer);
}

/**
 * Opens one sealed blob read from `loc` and verifies it: the GCM tag (binding kind, id and
 * packfile), the plaintext length against `rawLength`, then the MAC over the plaintext. Throws
 * CorruptBlobError naming the blob and the packfile. zstd runs in the thread pool. With `inPlace`
 * (the caller owns `sealed` and needs nothing else from it) the plaintext is decrypted over it.
 */
export async function openBlobAt(
  ctx: PackReadContext,
  key: ObjectKey,
  loc: BlobLocation,
  sealed: Uint8Array,
  inPlace = false,
): Promise<Uint8Array> {
  if (sealed.length !== loc.length) {
    throw new CorruptBlobError(loc.id, loc.packfile, `read ${sealed.length} bytes, expected ${loc.length}`);
  }
  let plain: Uint8Array;
  try {
    const target = blobTarget(key, loc.offset, loc.kind, loc.id);
    plain = await openPayloadAsync(
      ctx.provider,
      target,
      sealed,
      'blob',
      Math.max(loc.rawLength, 1),
      inPlace,
      true,
    );
  } catch (err) {
    throw new CorruptBlobError(loc.id, loc.packfile, reasonOf(err), { cause: err });
  }
  if (plain.length !== loc.rawLength) {
    throw new CorruptBlobError(
      loc.id,
      loc.packfile,
      `plaintext is ${plain.length} bytes, index says ${loc.rawLength}`,
    );
  }
  try {
    verifyBlobId(ctx.provider, ctx.keyRing, key, loc.id, plain);
  } catch (err) {
    throw new CorruptBlobError(loc.id, loc.packfile, reasonOf(err), { cause: err });
  }
  return plain;
}
