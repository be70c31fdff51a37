/**
 * A blocked Bloom filter of blob ids: "certainly not indexed" without a query, so that looking up a
 * new blob (every blob of a first backup) costs a few memory reads instead of a SQLite read
 * transaction (~4 us: WAL read locks are fcntl calls). A "maybe" is answered by the database, so a
 * false positive only costs the query it saves otherwise; the filter never says "absent" for an
 * id that was added.
 *
 * Blob ids are HMAC-SHA-256 outputs under a secret key, uniformly spread: their bytes are the
 * hash. Bytes 4..7 pick a 512-bit block (one cache line), bytes 8..21 give K positions in it.
 */
import type { BlobId } from './blob-store.ts';

/** Bits set per id. */
const K = 7;
/** 32-bit words per block (512 bits). */
const BLOCK_WORDS = 16;
/** Bits of the filter per id it is sized for; past half of that density it should grow. */
export const BLOOM_BITS_PER_BLOB = 24;
/** The smallest filter: 256 KiB. */
export const BLOOM_MIN_BYTES = 256 * 1024;
/** Serialized header: magic, log2 of the size in bytes, count of ids added, 8 bytes of generation. */
const HEADER = 20;
const MAGIC = 0x4b424c31; // "KBL1"

/**
 * The power-of-two size in bytes for `blobs` ids, within [BLOOM_MIN_BYTES, maxBytes] (a `maxBytes`
 * below BLOOM_MIN_BYTES is the size; at least 64 bytes).
 */
export function bloomBytesFor(blobs: number, maxBytes: number): number {
  const floor = Math.max(64, 2 ** Math.floor(Math.log2(Math.min(BLOOM_MIN_BYTES, Math.max(64, maxBytes)))));
  const want = Math.ceil((blobs * BLOOM_BITS_PER_BLOB) / 8);
  let bytes = floor;
  while (bytes < want && bytes * 2 <= maxBytes) bytes *= 2;
  return bytes;
}

export class BlobBloom {
  readonly #words: Uint32Array;
  readonly #blockMask: number;
  /** Ids added (duplicates counted again). */
  count: number;

  /** An empty filter of `bytes` bytes (a power of two, at least 64). */
  constructor(bytes: number, words?: Uint32Array, count = 0) {
    if (!(bytes >= 64) || (bytes & (bytes - 1)) !== 0)
      throw new Error(`bloom filter size ${bytes} is not a power of two`);
    this.#words = words ?? new Uint32Array(bytes / 4);
    this.#blockMask = bytes / 64 - 1;
    this.count = count;
  }

  get bytes(): number {
    return this.#words.byteLength;
  }

  /** True when more ids were added than the size is meant for (lookups answer "maybe" more often). */
  get crowded(): boolean {
    return this.count * BLOOM_BITS_PER_BLOB > this.bytes * 8 * 2;
  }

  add(id: BlobId): void {
    const w = this.#words;
    const base = ((id[4]! | (id[5]! << 8) | (id[6]! << 16) | (id[7]! << 24)) & this.#blockMask) * BLOCK_WORDS;
    for (let i = 0, o = 8; i < K; i++, o += 2) {
      const bit = (id[o]! | (id[o + 1]! << 8)) & 511;
      w[base + (bit >>> 5)]! |= 1 << (bit & 31);
    }
    this.count++;
  }

  /** False if `id` was certainly never added. */
  mayHave(id: BlobId): boolean {
    const w = this.#words;
    const base = ((id[4]! | (id[5]! << 8) | (id[6]! << 16) | (id[7]! << 24)) & this.#blockMask) * BLOCK_WORDS;
    for (let i = 0, o = 8; i < K; i++, o += 2) {
      const bit = (id[o]! | (id[o + 1]! << 8)) & 511;
      if ((w[base + (bit >>> 5)]! & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }

  /** The filter as bytes, tagged with `generation` (the index's, see IndexCache). */
  serialize(generation: number): Uint8Array {
    const out = new Uint8Array(HEADER + this.bytes);
    const view = new DataView(out.buffer);
    view.setUint32(0, MAGIC);
    view.setUint32(4, Math.log2(this.bytes));
    view.setUint32(8, Math.min(this.count, 0xffffffff));
    view.setBigUint64(12, BigInt(generation));
    out.set(new Uint8Array(this.#words.buffer, this.#words.byteOffset, this.bytes), HEADER);
    return out;
  }

  /** The filter `serialize` wrote, if it is one and of `generation`; else undefined. */
  static deserialize(bytes: Uint8Array, generation: number): BlobBloom | undefined {
    if (bytes.length < HEADER) return undefined;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (view.getUint32(0) !== MAGIC) return undefined;
    const log2 = view.getUint32(4);
    if (log2 < 6 || log2 > 32 || bytes.length !== HEADER + 2 ** log2) return undefined;
    if (view.getBigUint64(12) !== BigInt(generation)) return undefined;
    const words = new Uint32Array(2 ** log2 / 4);
    new Uint8Array(words.buffer).set(bytes.subarray(HEADER));
    return new BlobBloom(2 ** log2, words, view.getUint32(8));
  }
}
