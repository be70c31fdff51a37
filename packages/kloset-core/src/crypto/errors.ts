/**
 * Errors of the crypto layer. Each carries one clear, one-line message naming what failed.
 */

/** The passphrase does not unlock the store's master key (GCM authentication of the wrapped key failed). */
export class WrongPassphraseError extends Error {
  override readonly name = 'WrongPassphraseError';
  constructor() {
    super('wrong passphrase');
  }
}

/** An encrypted store was opened without a passphrase. */
export class PassphraseRequiredError extends Error {
  override readonly name = 'PassphraseRequiredError';
  constructor() {
    super('this store is encrypted: a passphrase is required');
  }
}

/**
 * Stored bytes failed verification: GCM tag (or plaintext-store MAC), compression frame, or the
 * blob id MAC. `subject` names the object, e.g. `blob 3fa2… in packfile 91c0…`.
 */
export class CorruptDataError extends Error {
  override readonly name = 'CorruptDataError';
  readonly subject: string;
  readonly reason: string;
  constructor(subject: string, reason: string, options?: { cause?: unknown }) {
    super(`corrupt ${subject}: ${reason}`, options);
    this.subject = subject;
    this.reason = reason;
  }
}
