/**
 * Mapping of AWS SDK and network errors to ConnectorError, with one-line messages naming the
 * operation, the bucket and the key.
 */
import { ConnectorError, type ErrorCode } from '@kloset/connector-contract';

/** What an S3 call addressed, for error messages. */
export interface S3OpContext {
  /** The S3 operation, e.g. `GetObject`. */
  readonly op: string;
  readonly bucket: string;
  readonly key?: string;
  /** The endpoint URL, e.g. `http://127.0.0.1:7480`. */
  readonly endpoint: string;
}

const AUTH_CODES = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'RequestTimeTooSkewed',
  'InvalidSecurity',
  'CredentialsProviderError',
  'MissingSecurityHeader',
]);
const PERMISSION_CODES = new Set(['AccessDenied', 'AllAccessDisabled', 'AccountProblem', 'Forbidden']);
const NOT_FOUND_CODES = new Set(['NoSuchBucket', 'NoSuchKey', 'NotFound', 'NoSuchUpload', 'NoSuchVersion']);
const EXISTS_CODES = new Set(['BucketAlreadyExists', 'BucketAlreadyOwnedByYou', 'PreconditionFailed']);
const TRANSIENT_CODES = new Set([
  'SlowDown',
  'ServiceUnavailable',
  'InternalError',
  'RequestTimeout',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequests',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'ProvisionedThroughputExceededException',
  'BandwidthLimitExceeded',
  'OperationAborted',
  'ConditionalRequestConflict',
  'TimeoutError',
  'RequestTimeoutException',
]);
const CORRUPT_CODES = new Set(['BadDigest', 'XAmzContentSHA256Mismatch', 'IncompleteBody']);
const TRANSIENT_SYS = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'ECONNABORTED',
  'ERR_STREAM_PREMATURE_CLOSE',
  'ERR_HTTP2_STREAM_ERROR',
]);
/**
 * undici's errors on the data plane (transport.ts), with what they mean for an S3 answer. All are
 * transient: the connection is closed, and a retry opens a new one.
 */
const UNDICI_REASONS: ReadonlyMap<string, string> = new Map([
  ['UND_ERR_CONNECT_TIMEOUT', 'connect timed out'],
  ['UND_ERR_HEADERS_TIMEOUT', 'no answer within the request timeout'],
  ['UND_ERR_BODY_TIMEOUT', 'the answer stalled: no bytes within the idle timeout'],
  ['UND_ERR_SOCKET', 'connection closed by the server mid-answer'],
  ['UND_ERR_CLOSED', 'connection closed'],
  ['UND_ERR_DESTROYED', 'connection closed'],
  ['UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'malformed answer: body length differs from its Content-Length'],
  ['UND_ERR_HEADERS_OVERFLOW', 'malformed answer: headers too large'],
  ['UND_ERR_INFO', 'malformed answer'],
]);
const UNAVAILABLE_SYS = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'EADDRNOTAVAIL',
]);
const TLS_SYS =
  /^(CERT_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_|ERR_TLS_|ERR_SSL_|EPROTO$)/;

interface ErrorFacts {
  /** The S3 error code (`NoSuchKey`) or SDK error name. */
  readonly code?: string;
  readonly status?: number;
  /** A Node system error code (`ECONNREFUSED`), from the error or its causes. */
  readonly sys?: string;
  /** Where the failed connection went, as that error says (`127.0.0.1:3128`, a host name). */
  readonly peer?: string;
  readonly message: string;
}

function record(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
}

/** The error, among `err` and its causes, that carries a Node system error code. */
function findSysError(err: unknown, depth = 0): Record<string, unknown> | undefined {
  const r = record(err);
  if (!r || depth > 4) return undefined;
  if (typeof r.code === 'string' && /^[A-Z_0-9]+$/.test(r.code)) return r;
  if (Array.isArray(r.errors)) {
    for (const e of r.errors) {
      const found = findSysError(e, depth + 1);
      if (found) return found;
    }
  }
  return findSysError(r.cause, depth + 1);
}

/** `address:port` of a failed connect, or the host name a lookup failed for. */
function peerOf(sysError: Record<string, unknown>): string | undefined {
  const { address, port, hostname } = sysError;
  if (typeof address === 'string' && typeof port === 'number') {
    return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
  }
  return typeof hostname === 'string' ? hostname : undefined;
}

function facts(err: unknown): ErrorFacts {
  const r = record(err);
  const message = err instanceof Error ? err.message : String(err);
  if (!r) return { message };
  const meta = record(r.$metadata);
  const status = typeof meta?.httpStatusCode === 'number' ? meta.httpStatusCode : undefined;
  const code =
    typeof r.Code === 'string'
      ? r.Code
      : typeof r.name === 'string' && r.name !== 'Error'
        ? r.name
        : undefined;
  const sysError = findSysError(err);
  const sys = sysError?.code as string | undefined;
  const peer = sysError === undefined ? undefined : peerOf(sysError);
  return {
    ...(code !== undefined ? { code } : {}),
    ...(status !== undefined ? { status } : {}),
    ...(sys !== undefined ? { sys } : {}),
    ...(peer !== undefined ? { peer } : {}),
    message,
  };
}

function oneLine(s: string, max = 300): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

function quote(s: string, max = 256): string {
  const q = JSON.stringify(s);
  return q.length > max ? `${q.slice(0, max)}…"` : q;
}

/** `bucket "b" key "k"`, quoted so that any key stays on one line. */
export function describeTarget(bucket: string, key?: string): string {
  return key === undefined ? `bucket ${quote(bucket)}` : `bucket ${quote(bucket)} key ${quote(key)}`;
}

function detail(f: ErrorFacts): string {
  const parts = [f.code ?? f.sys, f.status !== undefined ? `HTTP ${f.status}` : undefined].filter(Boolean);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

function isEndpointHost(peer: string, endpoint: string): boolean {
  try {
    const url = new URL(endpoint);
    const port = url.port || (url.protocol === 'https:' ? '443' : '80');
    return peer === url.hostname || peer === `${url.hostname}:${port}`;
  } catch {
    return false;
  }
}

function classify(f: ErrorFacts, ctx: S3OpContext): { code: ErrorCode; reason: string } {
  const c = f.code;
  if (c !== undefined) {
    if (c === 'CredentialsProviderError') {
      return {
        code: 'auth',
        reason: `no credentials: set access_key and secret_access_key, or profile=NAME, or configure the AWS credential chain (${oneLine(f.message, 160)})`,
      };
    }
    if (AUTH_CODES.has(c)) {
      return {
        code: 'auth',
        reason: `credentials refused${detail(f)}: check access_key and secret_access_key`,
      };
    }
    if (PERMISSION_CODES.has(c)) {
      return { code: 'permission', reason: `access denied${detail(f)}` };
    }
    if (c === 'NoSuchBucket')
      return { code: 'not_found', reason: `bucket ${quote(ctx.bucket)} does not exist` };
    if (NOT_FOUND_CODES.has(c)) return { code: 'not_found', reason: `not found${detail(f)}` };
    if (c === 'PreconditionFailed')
      return { code: 'already_exists', reason: `precondition failed${detail(f)}` };
    if (EXISTS_CODES.has(c)) return { code: 'already_exists', reason: `already exists${detail(f)}` };
    if (TRANSIENT_CODES.has(c)) return { code: 'transient', reason: `temporary failure${detail(f)}` };
    if (CORRUPT_CODES.has(c)) return { code: 'corrupt', reason: `data check failed${detail(f)}` };
    if (c === 'InvalidRange') return { code: 'invalid', reason: `range not satisfiable${detail(f)}` };
    if (c === 'InvalidObjectState') {
      return {
        code: 'invalid',
        reason: `the object is archived (Glacier): restore it in S3 first${detail(f)}`,
      };
    }
    if (c === 'KeyTooLongError' || c === 'InvalidObjectName') {
      return { code: 'invalid', reason: `key refused by the server: too long or invalid${detail(f)}` };
    }
    if (
      c === 'AuthorizationHeaderMalformed' ||
      c === 'PermanentRedirect' ||
      c === 'IllegalLocationConstraintException'
    ) {
      return {
        code: 'invalid',
        reason: `wrong endpoint or region (region ${oneLine(f.message, 200)})${detail(f)}`,
      };
    }
    if (c === 'AbortError') return { code: 'transient', reason: 'request aborted' };
  }
  const s = f.sys;
  if (s !== undefined) {
    if (UNAVAILABLE_SYS.has(s)) {
      // A connection that went elsewhere (a proxy, a bucket's virtual host) is named.
      const elsewhere = f.peer !== undefined && !isEndpointHost(f.peer, ctx.endpoint);
      return {
        code: 'unavailable',
        reason: `cannot reach ${ctx.endpoint} (${s}${elsewhere ? ` connecting to ${f.peer}` : ''})`,
      };
    }
    const undici = UNDICI_REASONS.get(s);
    if (undici !== undefined) return { code: 'transient', reason: `${undici} (${s})` };
    if (s.startsWith('HPE_')) {
      return { code: 'transient', reason: `malformed HTTP answer (${s}): ${oneLine(f.message, 160)}` };
    }
    if (TRANSIENT_SYS.has(s)) return { code: 'transient', reason: `connection failed (${s})` };
    if (TLS_SYS.test(s)) {
      return {
        code: 'invalid',
        reason: `TLS failure talking to ${ctx.endpoint} (${s}): check use_tls; tls_insecure_no_verify=true skips certificate checks`,
      };
    }
    if (s.startsWith('ERR_INVALID'))
      return { code: 'invalid', reason: `request refused by the client (${s}): ${oneLine(f.message, 200)}` };
  }
  const status = f.status;
  if (status !== undefined) {
    if (status >= 500 || status === 429) return { code: 'transient', reason: `server error${detail(f)}` };
    if (status === 404) return { code: 'not_found', reason: `not found${detail(f)}` };
    if (status === 403) return { code: 'permission', reason: `access refused${detail(f)}` };
    if (status === 401) return { code: 'auth', reason: `credentials refused${detail(f)}` };
    if (status === 412) return { code: 'already_exists', reason: `precondition failed${detail(f)}` };
    if (status === 416) return { code: 'invalid', reason: `range not satisfiable${detail(f)}` };
    if (status >= 400) {
      const said = f.message === 'UnknownError' || f.message === f.code ? '' : `: ${oneLine(f.message, 200)}`;
      return { code: 'invalid', reason: `request refused${detail(f)}${said}` };
    }
  }
  return { code: 'transient', reason: `${oneLine(f.message, 200)}${detail(f)}` };
}

/**
 * Turns an error from an S3 call into a ConnectorError with a one-line message such as
 * `S3 GetObject on bucket "b" key "k": access denied (AccessDenied, HTTP 403)`.
 * A ConnectorError is returned as is.
 */
export function toConnectorError(err: unknown, ctx: S3OpContext): ConnectorError {
  if (err instanceof ConnectorError) return err;
  const f = facts(err);
  const { code, reason } = classify(f, ctx);
  const message = `S3 ${ctx.op} on ${describeTarget(ctx.bucket, ctx.key)}: ${reason}`;
  return new ConnectorError(
    code,
    message,
    {
      op: ctx.op,
      container: ctx.bucket,
      endpoint: ctx.endpoint,
      ...(ctx.key !== undefined ? { key: ctx.key } : {}),
    },
    { cause: err },
  );
}

/** True for the errors thrown when an AbortSignal fires. */
export function isAbortError(err: unknown): boolean {
  const r = record(err);
  return r?.name === 'AbortError';
}

/**
 * Runs one S3 call and maps what it throws with toConnectorError. When `signal` has fired, its
 * reason is thrown instead.
 */
export async function s3Call<T>(ctx: S3OpContext, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    throw toConnectorError(err, ctx);
  }
}

/**
 * The S3 error code (`NoSuchBucket`, `InvalidRange`, `BucketAlreadyOwnedByYou`...) behind an error,
 * looking through a ConnectorError to its cause; undefined for network and other errors.
 */
export function s3ErrorCode(err: unknown): string | undefined {
  const inner = err instanceof ConnectorError ? err.cause : err;
  const r = record(inner);
  if (!r || record(r.$metadata) === undefined) return undefined;
  return typeof r.Code === 'string' ? r.Code : typeof r.name === 'string' ? r.name : undefined;
}
