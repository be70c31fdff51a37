/**
 * AWS Signature Version 4 for the data-plane requests (GetObject, PutObject, UploadPart,
 * ListObjectsV2), `UNSIGNED-PAYLOAD` unless told the body's hash. The signing key (four HMACs) is
 * derived once per secret, day, region and service; a request then costs one SHA-256 and one HMAC.
 * Kept rather than @smithy/signature-v4 (the SDK's signer, asynchronous, a request object per call):
 * both sign alike, and this one took 11.5 us a request against smithy's 50 us
 * (tools/bench/sigv4.mjs, tools/bench/README.md).
 */
import { createHash, createHmac, createSecretKey, type KeyObject } from 'node:crypto';

/** The credentials a request is signed with (what the SDK's credential providers resolve to). */
export interface SigningCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
}

/** A request to sign: its path and query as sent (already encoded), lower-case header names. */
export interface RequestToSign {
  readonly method: string;
  /** The path as sent, percent-encoded once (S3 canonical URIs are not normalized). */
  readonly path: string;
  /** The canonical query string (names and values encoded, sorted by name); default none. */
  readonly query?: string;
  readonly headers: Record<string, string>;
  /** The hex SHA-256 of the body; default `UNSIGNED-PAYLOAD`. */
  readonly payloadHash?: string;
}

export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

/** RFC 3986 encoding as SigV4 wants it: every byte but A-Z a-z 0-9 - _ . ~ escaped. */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** S3's URI encoding of a key, `/` kept. */
export function encodeKeyPath(key: string): string {
  return uriEncode(key).replace(/%2F/g, '/');
}

/** The canonical query string of `query`: encoded, sorted by name. */
export function canonicalQuery(query: Readonly<Record<string, string>>): string {
  return Object.entries(query)
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

/** `20260102T030405Z` */
export function amzDate(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== lastDate.second) {
    // YYYY-MM-DDTHH:MM:SS.sssZ -> YYYYMMDDTHHMMSSZ
    const iso = new Date(second * 1000).toISOString();
    const text = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
    lastDate = { second, text };
  }
  return lastDate.text;
}

/** The last amzDate: requests are signed many times a second. */
let lastDate = { second: Number.NaN, text: '' };

/** A header value as SigV4 signs it: trimmed, runs of white space made one space. */
function canonicalValue(value: string): string {
  return NEEDS_FOLDING.test(value) ? value.trim().replace(/\s+/g, ' ') : value;
}
/** White space at either end, any but a plain space, or two spaces in a row. */
const NEEDS_FOLDING = /^\s|\s$|[^\S ]|  /;

const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();

/** Signs requests for one service in one region; keeps the last signing key. */
export class SigV4Signer {
  readonly #service: string;
  /** A KeyObject: createHmac with one is ~10 µs cheaper than with a Buffer key, which it converts each time. */
  #cached: { readonly id: string; readonly key: KeyObject } | undefined;

  constructor(service = 's3') {
    this.#service = service;
  }

  /**
   * Adds `x-amz-date`, `x-amz-content-sha256` (unsigned payload), `x-amz-security-token` when the
   * credentials have one, and `authorization` to `req.headers`. `nowMs`: the (clock-corrected) time.
   */
  sign(req: RequestToSign, creds: SigningCredentials, region: string, nowMs: number): void {
    const { headers } = req;
    const date = amzDate(nowMs);
    const day = date.slice(0, 8);
    headers['x-amz-date'] = date;
    const payload = req.payloadHash ?? UNSIGNED_PAYLOAD;
    headers['x-amz-content-sha256'] = payload;
    if (creds.sessionToken) headers['x-amz-security-token'] = creds.sessionToken;
    const names = Object.keys(headers).sort();
    let canonicalHeaders = '';
    for (const n of names) canonicalHeaders += `${n}:${canonicalValue(headers[n]!)}\n`;
    const signedHeaders = names.join(';');
    const canonical = `${req.method}\n${req.path}\n${req.query ?? ''}\n${canonicalHeaders}\n${signedHeaders}\n${payload}`;
    const scope = `${day}/${region}/${this.#service}/aws4_request`;
    const toSign = `AWS4-HMAC-SHA256\n${date}\n${scope}\n${createHash('sha256').update(canonical).digest('hex')}`;
    const signature = createHmac('sha256', this.#key(creds.secretAccessKey, day, region))
      .update(toSign)
      .digest('hex');
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  }

  #key(secret: string, day: string, region: string): KeyObject {
    const id = `${day}\n${region}\n${secret}`;
    if (this.#cached?.id !== id) {
      const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), region), this.#service), 'aws4_request');
      this.#cached = { id, key: createSecretKey(key) };
    }
    return this.#cached.key;
  }
}
