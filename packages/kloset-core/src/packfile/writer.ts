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
import { concatBytes } from '../encoding/bytes.ts';
import type { BlobId, BlobKind } from '../repository/blob-store.ts';
import { encodeFooter, FOOTER_SEALED_LENGTH } from './footer.ts';
import { arrayHeaderSize, encodedEntrySize, encodePackIndex, type PackIndexEntry } from './index-codec.ts';

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
  /** The sealed bytes of each blob, as parts (one entry per blob). */
  readonly #blobs: Uint8Array[][] = [];
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
   * True if a blob sealing to `sealedLength` bytes fits under the target size. An empty packfile
   * accepts any blob (a blob larger than the target gets a packfile of its own).
   */
  fits(sealedLength: number, rawLength: number): boolean {
    return this.#entries.length === 0 || this.projectedSize(sealedLength, rawLength) <= this.targetSize;
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
    this.#blobs.push(sealed);
    this.#entries.push(entry);
    this.#dataSize += length;
    this.#indexEntriesSize += encodedEntrySize(entry);
    return entry;
  }

  /**
   * The sealed blob at exactly (`offset`, `length`) in this writer, or undefined: lets the
   * repository serve reads of blobs that are not uploaded yet.
   */
  sealedAt(offset: number, length: number): Uint8Array | undefined {
    let lo = 0;
    let hi = this.#entries.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const e = this.#entries[mid]!;
      if (e.offset === offset) {
        if (e.length !== length) return undefined;
        const parts = this.#blobs[mid]!;
        return parts.length === 1 ? parts[0] : concatBytes(...parts);
      }
      if (e.offset < offset) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
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
    const parts = [...this.#blobs.flat(), index, footer];
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
