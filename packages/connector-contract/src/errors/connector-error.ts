/**
 * Errors that cross the connector contract.
 *
 * Every method of Source, Storage and Destination that fails throws a ConnectorError (or lets a
 * programming error escape). The `code` tells callers what they may do next:
 *
 * - `not_found`: the thing does not exist. Final: retrying will not help.
 * - `already_exists`: a create-only operation found the thing there. Final.
 * - `auth`: credentials were refused (bad key, bad signature, expired token). Final.
 * - `permission`: credentials are valid but not allowed to do this. Final.
 * - `invalid`: the request or the configuration is malformed (bad option value, bad id). Final.
 * - `transient`: a failure that may pass: timeouts, connection resets, 5xx, throttling.
 *   Wrappers (see wrappers/retry-storage.ts) retry these; connectors do not loop on them themselves.
 * - `corrupt`: data came back that fails a check (size, checksum). Retrying may help once.
 * - `unavailable`: the endpoint cannot be reached at all (DNS, connection refused). Retried like
 *   `transient` by wrappers, but reported in one line naming the endpoint when retries run out.
 * - `changed`: a source's content changed while it was being read (a file being written to). The
 *   stream has yielded every byte it read before throwing it. The engine reads the content once
 *   more (SourceRecord.open) and, if it changes again, keeps what it read with a warning.
 *
 * The message is one line, meant for a user, and names what failed (operation, bucket, key, path).
 */
export type ErrorCode =
  | 'not_found'
  | 'already_exists'
  | 'auth'
  | 'permission'
  | 'invalid'
  | 'transient'
  | 'corrupt'
  | 'unavailable'
  | 'changed';

/** Where an error happened: filled in by the connector as precisely as it can. */
export interface ErrorContext {
  /** The operation, e.g. `put`, `GetObject`, `readdir`. */
  readonly op?: string;
  /** A bucket, a directory, a host: the container the operation addressed. */
  readonly container?: string;
  /** The object key, file path or resource id the operation addressed. */
  readonly key?: string;
  /** The endpoint (URL or host) for network connectors. */
  readonly endpoint?: string;
}

const RETRYABLE: ReadonlySet<ErrorCode> = new Set(['transient', 'unavailable', 'corrupt']);

export class ConnectorError extends Error {
  override readonly name = 'ConnectorError';
  readonly code: ErrorCode;
  readonly context: ErrorContext;

  constructor(code: ErrorCode, message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.context = context;
  }

  /** True when the same call may succeed if tried again later. */
  get retryable(): boolean {
    return RETRYABLE.has(this.code);
  }
}

export function isConnectorError(err: unknown, code?: ErrorCode): err is ConnectorError {
  return err instanceof ConnectorError && (code === undefined || err.code === code);
}

export function isNotFound(err: unknown): boolean {
  return isConnectorError(err, 'not_found');
}
