/**
 * Errors of the repository layer. Each carries the ids it is about (hex) so that callers (check,
 * restore) can report which blob, packfile or resource failed; messages are one line.
 */
import { CorruptDataError } from '../crypto/errors.ts';
import { toHex } from '../encoding/bytes.ts';

/** What went wrong, for callers that branch on it. */
export type RepositoryErrorCode = 'corrupt' | 'missing' | 'locked' | 'invalid';

/** Base class of the errors this layer throws on purpose. */
export class RepositoryError extends Error {
  override readonly name: string = 'RepositoryError';
  readonly code: RepositoryErrorCode;

  constructor(code: RepositoryErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/**
 * A blob failed verification (GCM tag, raw length, MAC over its plaintext, or a malformed
 * payload). A CorruptDataError (crypto/errors.ts), so one `instanceof` catches all corruption.
 */
export class CorruptBlobError extends CorruptDataError {
  readonly code = 'corrupt';
  /** Hex id of the blob. */
  readonly blobId: string;
  /** Hex id of the packfile it was read from. */
  readonly packfileId: string;

  constructor(blobId: Uint8Array, packfileId: Uint8Array, reason: string, options?: { cause?: unknown }) {
    const b = toHex(blobId);
    const p = toHex(packfileId);
    super(`blob ${b} in packfile ${p}`, reason, options);
    this.blobId = b;
    this.packfileId = p;
  }
}

/** A packfile's footer or index failed verification or does not parse. */
export class CorruptPackfileError extends CorruptDataError {
  readonly code = 'corrupt';
  /** Hex id of the packfile. */
  readonly packfileId: string;

  constructor(packfileId: Uint8Array, reason: string, options?: { cause?: unknown }) {
    const p = toHex(packfileId);
    super(`packfile ${p}`, reason, options);
    this.packfileId = p;
  }
}

/** A sealed resource (state, snapshot, lock) failed verification or does not parse. */
export class CorruptResourceError extends CorruptDataError {
  readonly code = 'corrupt';
  readonly kind: string;
  /** Hex id of the resource. */
  readonly resourceId: string;

  constructor(kind: string, resourceId: Uint8Array, reason: string, options?: { cause?: unknown }) {
    const r = toHex(resourceId);
    super(`${kind} ${r}`, reason, options);
    this.kind = kind;
    this.resourceId = r;
  }
}

/** A blob is not in the index (or its packfile is gone from the store). */
export class MissingBlobError extends RepositoryError {
  override readonly name = 'MissingBlobError';
  readonly blobId: string;
  readonly packfileId: string | undefined;

  constructor(blobId: Uint8Array, reason: string, packfileId?: Uint8Array, options?: { cause?: unknown }) {
    const b = toHex(blobId);
    const p = packfileId ? toHex(packfileId) : undefined;
    super('missing', `blob ${b}${p ? ` (packfile ${p})` : ''} is missing: ${reason}`, options);
    this.blobId = b;
    this.packfileId = p;
  }
}

/**
 * The reason part of an error: a CorruptDataError's own reason (its subject is named again by the
 * wrapping error), else the message.
 */
export function reasonOf(err: unknown): string {
  if (err instanceof CorruptDataError) return err.reason;
  return err instanceof Error ? err.message : String(err);
}
