/**
 * The packfile footer (FORMAT.md §5): 16 plaintext bytes `u64be(index_offset) || u32be(index_length)
 * || u32be(blob_count)`, sealed uncompressed, so always FOOTER_SEALED_LENGTH bytes at the very end.
 */

/** Plaintext length of a footer. */
export const FOOTER_PLAIN_LENGTH = 16;
/** Sealed length of a footer: compression byte + 16 bytes + 16-byte tag (or trailer). */
export const FOOTER_SEALED_LENGTH = 1 + FOOTER_PLAIN_LENGTH + 16;

/** The decoded footer: where the sealed index is and how many blobs the packfile holds. */
export interface PackFooter {
  readonly indexOffset: number;
  readonly indexLength: number;
  readonly blobCount: number;
}

/** Encodes a footer's 16 plaintext bytes. */
export function encodeFooter(f: PackFooter): Uint8Array {
  const out = new Uint8Array(FOOTER_PLAIN_LENGTH);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(f.indexOffset));
  view.setUint32(8, f.indexLength);
  view.setUint32(12, f.blobCount);
  return out;
}

/**
 * Decodes a footer's plaintext and checks it against the packfile size (when known): the index
 * must end exactly where the footer starts.
 */
export function decodeFooter(plain: Uint8Array, packSize?: number): PackFooter {
  if (plain.length !== FOOTER_PLAIN_LENGTH) {
    throw new Error(`footer: expected ${FOOTER_PLAIN_LENGTH} bytes, got ${plain.length}`);
  }
  const view = new DataView(plain.buffer, plain.byteOffset, plain.byteLength);
  const indexOffset = Number(view.getBigUint64(0));
  const indexLength = view.getUint32(8);
  const blobCount = view.getUint32(12);
  if (!Number.isSafeInteger(indexOffset)) throw new Error('footer: index offset out of range');
  if (packSize !== undefined && indexOffset + indexLength + FOOTER_SEALED_LENGTH !== packSize) {
    throw new Error(
      `footer: index at ${indexOffset}+${indexLength} does not end at the footer (packfile of ${packSize} bytes)`,
    );
  }
  return { indexOffset, indexLength, blobCount };
}
