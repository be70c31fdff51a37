/**
 * Builds one packfile in memory (FORMAT.md §5): sealed blobs appended one after the other, then the
 * sealed index and the sealed footer. A writer holds at most one packfile's bytes, bounded by the
 * target size through `fits`.
 */
import type { PutBody } from '@kloset/connector-contract';
import type { CompressionMode, EncodedPayload } from '../crypto/compression.ts';
import type { KeyRing } from '../crypto/key-ring.ts';
import type { CryptoProvider } from '../crypto/provider.ts';
import {
  blobTarget,
  deriveObjectKey,
  type ObjectKey,
  packFooterTarget,
  packIndexTarget,
  SEAL_OVERHEAD,
  sealEncodedParts,
  sealPayload,
} from '../crypto/seal.ts';
import { allocUninitialized } from '../encoding/bytes.ts';
import type { BlobId, BlobKind } from '../repository/blob-store.ts';
import { encodeFooter, FOOTER_SEALED_LENGTH } from './footer.ts';
import { arrayHeaderSize, encodedEntrySize, encodePackIndex, type PackIndexEntry } from './index-codec.ts';

/**
 * Blobs per packfile at most (a writer's choice, not a format limit): a 16 MiB packfile of 100-byte
 * files would hold ~140k blobs, and their index entries, pending rows and state entries are all
 * held in memory until a state lists them.
 */
export const MAX_BLOBS = 16_384;

/** Sealed blobs up to this size are copied into slabs of SLAB_SIZE bytes (see PackfileWriter). */
const SLAB_BLOB_MAX = 16 * 1024;
const SLAB_SIZE = 1024 * 1024;

/** A complete packfile, ready to upload. */
export interface FinishedPackfile {
  readonly id: Uint8Array;
  /** Total size in bytes (blobs, index, footer). */
  readonly size: number;
  /** The blobs, in packfile order. */
  readonly entries: readonly PackIndexEntry[];
  /** The bytes, as a re-openable body (the parts are not copied into one buffer). */
  readonly body: PutBody;
}

/** Options of a PackfileWriter. */
export interface PackfileWriterOptions {
  readonly provider: CryptoProvider;
  readonly keyRing: KeyRing;
  /** The packfile id: 32 random bytes (also the salt of its object key). */
  readonly id: Uint8Array;
  /** Target size in bytes: `fits` refuses a blob that would take the packfile past it. */
  readonly targetSize: number;
  /** Compression of the pack index (the store's mode). */
  readonly compression: CompressionMode;
}

/** Appends sealed blobs; `finish` adds the index and footer. Not reusable after `finish`. */
export class PackfileWriter {
  readonly id: Uint8Array;
  readonly targetSize: number;
  readonly #provider: CryptoProvider;
  readonly #key: ObjectKey;
  readonly #compression: CompressionMode;
  /**
   * The sealed blobs as the parts of the packfile's body, in order, and the offset of each part.
   * Small sealed blobs are copied into slabs (SLAB_SIZE): a packfile of 100-byte blobs holds about
   * 140,000 of them, and as parts of their own (ciphertext and tag: two buffers each, ~100 bytes
   * of overhead per buffer) they cost several times their bytes and keep the GC busy. The last
   * part is the slab being filled, used up to `#slabUsed`.
   */
  readonly #parts: Uint8Array[] = [];
  readonly #partStarts: number[] = [];
  #slab: Uint8Array | undefined;
  #slabUsed = 0;
  readonly #entries: PackIndexEntry[] = [];
  #dataSize = 0;
  #indexEntriesSize = 0;
  #finished: FinishedPackfile | undefined;

  constructor(options: PackfileWriterOptions) {
    if (options.id.length !== 32) throw new Error(`packfile id must be 32 bytes, got ${options.id.length}`);
    if (!(options.targetSize > 0))
      throw new Error(`packfile target size must be positive: ${options.targetSize}`);
    this.id = options.id;
    this.targetSize = options.targetSize;
    this.#provider = options.provider;
    this.#key = deriveObjectKey(options.provider, options.keyRing, options.id);
    this.#compression = options.compression;
  }

  /** Number of blobs appended. */
  get blobCount(): number {
    return this.#entries.length;
  }

  /** Bytes of sealed blobs appended so far. */
  get dataSize(): number {
    return this.#dataSize;
  }

  /** True once `finish` was called. */
  get finished(): boolean {
    return this.#finished !== undefined;
  }

  /**
   * An upper bound of the packfile's final size if a blob sealing to `sealedLength` bytes of
   * `rawLength` plaintext were appended now: blobs, the index (its exact encoded size, sealed
   * uncompressed) and the footer.
   */
  projectedSize(sealedLength: number, rawLength: number): number {
    const entry = encodedEntrySize({ kind: 1, offset: this.#dataSize, length: sealedLength, rawLength });
    const index = arrayHeaderSize(this.#entries.length + 1) + this.#indexEntriesSize + entry + SEAL_OVERHEAD;
    return this.#dataSize + sealedLength + index + FOOTER_SEALED_LENGTH;
  }

  /**
   * True if a blob sealing to `sealedLength` bytes fits under the target size and the packfile has
   * fewer than MAX_BLOBS blobs. An empty packfile accepts any blob (a blob larger than the target
   * gets a packfile of its own).
   */
  fits(sealedLength: number, rawLength: number): boolean {
    if (this.#entries.length === 0) return true;
    return this.#entries.length < MAX_BLOBS && this.projectedSize(sealedLength, rawLength) <= this.targetSize;
  }

  /**
   * Seals and appends a blob already encoded (compressed or not) whose id the caller computed over
   * its `rawLength` bytes of plaintext. The nonce counter is the blob's offset. Returns its entry.
   */
  add(kind: BlobKind, id: BlobId, encoded: EncodedPayload, rawLength: number): PackIndexEntry {
    if (this.#finished) throw new Error('packfile writer: add after finish');
    const offset = this.#dataSize;
    const sealed = sealEncodedParts(
      this.#provider,
      blobTarget(this.#key, offset, kind, id),
      encoded.codec,
      encoded.body,
    );
    let length = 0;
    for (const part of sealed) length += part.length;
    const entry: PackIndexEntry = { kind, id, offset, length, rawLength };
    this.#append(sealed, length);
    this.#entries.push(entry);
    this.#dataSize += length;
    this.#indexEntriesSize += encodedEntrySize(entry);
    return entry;
  }

  /** Appends the parts of one sealed blob (`length` bytes in all) to the body. */
  #append(sealed: readonly Uint8Array[], length: number): void {
    if (length <= SLAB_BLOB_MAX) {
      if (this.#slab === undefined || this.#slabUsed + length > this.#slab.length) {
        this.#closeSlab();
        this.#slab = allocUninitialized(Math.min(SLAB_SIZE, Math.max(this.targetSize, length)));
        this.#parts.push(this.#slab);
        this.#partStarts.push(this.#dataSize);
      }
      for (const part of sealed) {
        this.#slab.set(part, this.#slabUsed);
        this.#slabUsed += part.length;
      }
      return;
    }
    this.#closeSlab();
    let start = this.#dataSize;
    for (const part of sealed) {
      this.#parts.push(part);
      this.#partStarts.push(start);
      start += part.length;
    }
  }

  /** Ends the slab being filled: its part becomes the bytes used. */
  #closeSlab(): void {
    if (this.#slab === undefined) return;
    this.#parts[this.#parts.length - 1] = this.#slab.subarray(0, this.#slabUsed);
    this.#slab = undefined;
    this.#slabUsed = 0;
  }

  /**
   * The sealed blob at exactly (`offset`, `length`) in this writer (a copy), or undefined: lets the
   * repository serve reads of blobs that are not uploaded yet.
   */
  sealedAt(offset: number, length: number): Uint8Array | undefined {
    let lo = 0;
    let hi = this.#entries.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const e = this.#entries[mid]!;
      if (e.offset === offset) return e.length === length ? this.#bytesAt(offset, length) : undefined;
      if (e.offset < offset) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  /** A copy of the body's bytes [offset, offset + length), which the blobs appended cover. */
  #bytesAt(offset: number, length: number): Uint8Array {
    // The last part starting at or before `offset`.
    let lo = 0;
    let hi = this.#partStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.#partStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    const out = allocUninitialized(length);
    let done = 0;
    for (let i = lo; done < length; i++) {
      const part = this.#parts[i]!;
      const from = offset + done - this.#partStarts[i]!;
      const piece = part.subarray(from, Math.min(part.length, from + length - done));
      out.set(piece, done);
      done += piece.length;
    }
    return out;
  }

  /** Seals the index and footer: the packfile is complete. Calling it again returns the same result. */
  finish(): FinishedPackfile {
    if (this.#finished) return this.#finished;
    if (this.#entries.length === 0) throw new Error('packfile writer: cannot finish an empty packfile');
    const index = sealPayload(
      this.#provider,
      packIndexTarget(this.#key),
      encodePackIndex(this.#entries),
      this.#compression,
    );
    const footer = sealPayload(
      this.#provider,
      packFooterTarget(this.#key),
      encodeFooter({
        indexOffset: this.#dataSize,
        indexLength: index.length,
        blobCount: this.#entries.length,
      }),
      'none',
    );
    if (footer.length !== FOOTER_SEALED_LENGTH) {
      throw new Error(
        `packfile writer: sealed footer is ${footer.length} bytes, expected ${FOOTER_SEALED_LENGTH}`,
      );
    }
    this.#closeSlab();
    const parts = [...this.#parts, index, footer];
    const size = this.#dataSize + index.length + footer.length;
    this.#finished = {
      id: this.id,
      size,
      entries: this.#entries,
      body: {
        size,
        async *open() {
          yield* parts;
        },
      },
    };
    return this.#finished;
  }
}
