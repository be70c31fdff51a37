/**
 * Opening the blobs of one ranged read of a packfile: decrypted in place, decompressed, checked
 * against their raw length and their MAC id (FORMAT.md §4.3). Pure and synchronous, so that it runs
 * the same in a crypto worker and on the calling thread.
 */
import { decompressBody } from '../crypto/compression.ts';
import { nodeCryptoProvider } from '../crypto/node-provider.ts';
import { ObjectKeyCache } from '../crypto/object-key-cache.ts';
import { blobSubject, blobTarget, type ObjectKey, openEncoded } from '../crypto/seal.ts';
import { equalBytes } from '../encoding/bytes.ts';
import type { BlobKind } from '../repository/blob-store.ts';
import { reasonOf } from '../repository/errors.ts';

const packKeys = new ObjectKeyCache(256);

/** One blob inside the bytes read. */
export interface BlobInRead {
  readonly kind: BlobKind;
  readonly id: Uint8Array;
  /** Where its sealed bytes start in the bytes read. */
  readonly start: number;
  /** Sealed length. */
  readonly length: number;
  /** Its offset in the packfile: the nonce counter. */
  readonly packOffset: number;
  /** Plaintext length, from the index. */
  readonly rawLength: number;
}

/** What opening the blobs of one read needs: the store's keys and the packfile id. */
export interface OpenBlobsRequest {
  readonly macKey: Uint8Array;
  readonly encKey: Uint8Array;
  readonly packId: Uint8Array;
  readonly blobs: readonly BlobInRead[];
}

/** The plaintext of a blob, or why it failed verification. */
export type OpenOutcome =
  | { readonly ok: true; readonly data: Uint8Array }
  | { readonly ok: false; readonly reason: string };

/**
 * Opens every blob of `req` in `bytes`, which the caller owns and gives up: plaintexts are views of
 * it (or new arrays for compressed blobs). A blob listed twice (same start) is opened once.
 */
export function openBlobsInPlace(bytes: Uint8Array, req: OpenBlobsRequest): OpenOutcome[] {
  const provider = nodeCryptoProvider;
  const pack = packKeys.get(provider, { encKey: req.encKey, plaintext: false }, req.packId);
  const byStart = new Map<number, OpenOutcome>();
  return req.blobs.map((b) => {
    const done = byStart.get(b.start);
    if (done !== undefined) return done;
    const outcome = openOne(bytes, b, req.macKey, pack);
    byStart.set(b.start, outcome);
    return outcome;
  });
}

function openOne(bytes: Uint8Array, b: BlobInRead, macKey: Uint8Array, pack: ObjectKey): OpenOutcome {
  try {
    const sealed = bytes.subarray(b.start, b.start + b.length);
    if (sealed.length !== b.length)
      return { ok: false, reason: `read ${sealed.length} bytes, expected ${b.length}` };
    const subject = blobSubject(pack, b.id);
    const target = blobTarget(pack, b.packOffset, b.kind, b.id);
    const { codec, body } = openEncoded(nodeCryptoProvider, target, sealed, subject, true);
    const data = decompressBody(codec, body, subject, Math.max(b.rawLength, 1), true);
    if (data.length !== b.rawLength) {
      return { ok: false, reason: `plaintext is ${data.length} bytes, index says ${b.rawLength}` };
    }
    if (!equalBytes(nodeCryptoProvider.hmacSha256(macKey, data), b.id)) {
      return { ok: false, reason: 'content does not match its id' };
    }
    return { ok: true, data };
  } catch (err) {
    return { ok: false, reason: reasonOf(err) };
  }
}
