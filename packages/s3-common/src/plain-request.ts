/**
 * Object requests (GetObject, PutObject, UploadPart, ListObjectsV2) without the SDK: the SDK's
 * per-request middleware (serialization, endpoint rules, signing
 * with a fresh HMAC chain, header parsing, stream mixins) was most of the CPU these requests cost
 * (bucket -> store bench, 4,182 objects: 7.7-8.9 s -> 4.1-4.3 s of CPU for the GETs alone).
 *
 * What is kept from the SDK: the client resolves the credentials (its provider chain, session
 * tokens, refreshes), the endpoint and signing region (its endpoint rules: path-style or
 * virtual-host, AWS regional endpoints) and the clock skew it measured. What it did per request is
 * done here: SigV4 (UNSIGNED-PAYLOAD, the signing key kept per day), the connect, request and idle
 * timeouts of the connection's settings, the redirect to the bucket's region on AWS, and S3 error
 * bodies turned into errors with the S3 error code and HTTP status that toConnectorError maps.
 * A bucket whose endpoint needs another auth scheme (S3 Express) is left to the SDK: `usable()`.
 * GETs go over raw-http.ts (its own keep-alive connections, bodies in slabs); requests with a body
 * or an abort signal over node:http on the connection's agent.
 */
import { type Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { type Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { S3Client } from '@aws-sdk/client-s3';
import { RawHttpPool, timeoutError } from './raw-http.ts';
import type { S3Settings } from './settings.ts';
import { SigV4Signer } from './sigv4.ts';

/** An answer's body: read it to its end, or destroy it. */
export interface AnswerBody extends AsyncIterable<Uint8Array> {
  destroy(): void;
}

/** A 2xx answer: status, headers (names in lower case), body. */
export interface PlainAnswer {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: AnswerBody;
}

/** One request on an object of the connection's bucket. */
export interface PlainRequest {
  readonly method: 'GET' | 'PUT';
  readonly key: string;
  /** Query parameters, signed (UploadPart's `partNumber` and `uploadId`). */
  readonly query?: Readonly<Record<string, string>>;
  /** Header names in lower case. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Uint8Array;
  readonly signal?: AbortSignal | undefined;
}

/** An S3 error answer: `Code` and `$metadata.httpStatusCode` as the SDK's errors carry them. */
export class S3ResponseError extends Error {
  readonly Code?: string;
  readonly $metadata: { readonly httpStatusCode: number };

  constructor(status: number, code: string | undefined, message: string) {
    super(message);
    if (code !== undefined) {
      this.name = code;
      this.Code = code;
    }
    this.$metadata = { httpStatusCode: status };
  }
}

/** Where requests go and how they are signed, as the SDK's endpoint rules resolved it for the bucket. */
interface Target {
  readonly https: boolean;
  readonly hostname: string;
  readonly port: number | undefined;
  /** `host[:port]`, the signed Host header. */
  readonly host: string;
  /** `/bucket` (path-style) or `` (virtual host). */
  readonly basePath: string;
  readonly region: string;
  /** False when the endpoint wants another auth scheme than SigV4: the SDK sends those. */
  readonly sigv4: boolean;
}

const ERROR_BODY_MAX = 64 * 1024;
const XML_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

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

function xmlText(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml);
  return m?.[1]?.replace(/&(amp|lt|gt|quot|apos);/g, (_, e: string) => XML_ENTITIES[e] ?? '');
}

/** A body read to its end as UTF-8 text, keeping about `max` characters at most. */
export async function readText(body: AnswerBody, max = Number.POSITIVE_INFINITY): Promise<string> {
  let text = '';
  const decoder = new TextDecoder();
  for await (const chunk of body) if (text.length < max) text += decoder.decode(chunk, { stream: true });
  return text.length < max ? text + decoder.decode() : text;
}

/** The error of a non-2xx answer, from its XML body (`<Code>`, `<Message>`). */
async function responseError(res: PlainAnswer): Promise<S3ResponseError> {
  const xml = await readText(res.body, ERROR_BODY_MAX);
  const status = res.statusCode;
  const code = xmlText(xml, 'Code');
  return new S3ResponseError(status, code, xmlText(xml, 'Message') ?? code ?? `HTTP ${status}`);
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error
    ? reason
    : Object.assign(new Error('the request was aborted'), { name: 'AbortError' });
}

/** What the SDK's credential providers resolve to. */
type Credentials = Awaited<ReturnType<S3Client['config']['credentials']>>;

/** Sends the plain object requests of one connection. */
export class PlainS3Requests {
  readonly #client: S3Client;
  readonly #settings: S3Settings;
  readonly #agents: { readonly http: HttpAgent; readonly https: HttpsAgent };
  readonly #signer = new SigV4Signer();
  #target: Promise<Target> | undefined;
  /** The bucket's region, once AWS redirected us there. */
  #redirectedRegion: string | undefined;
  /** GETs go through raw-http.ts (one pool for the endpoint, made on first use). */
  #raw: RawHttpPool | undefined;

  constructor(
    client: S3Client,
    settings: S3Settings,
    agents: { readonly http: HttpAgent; readonly https: HttpsAgent },
  ) {
    this.#client = client;
    this.#settings = settings;
    this.#agents = agents;
  }

  /** False when the bucket's endpoint needs another auth scheme than SigV4: send with the SDK. */
  async usable(): Promise<boolean> {
    this.#target ??= this.#resolveTarget();
    return (await this.#target).sigv4;
  }

  /**
   * Sends `req`; resolves once the headers of a 2xx answer are in (its body is the caller's to
   * read or destroy), else throws (S3ResponseError, network, timeout, abort).
   */
  async send(req: PlainRequest): Promise<PlainAnswer> {
    this.#target ??= this.#resolveTarget();
    const target = await this.#target;
    const credentials = await this.#client.config.credentials();
    for (let redirected = false; ; redirected = true) {
      const region = this.#redirectedRegion ?? target.region;
      const res =
        req.method === 'GET' && req.body === undefined && req.signal === undefined
          ? await this.#get(target, req, credentials, region)
          : await this.#request(target, req, credentials, region).then(
              (m): PlainAnswer => ({ statusCode: m.statusCode ?? 0, headers: m.headers, body: m }),
            );
      const status = res.statusCode;
      if (status >= 200 && status < 300) return res;
      const bucketRegion = res.headers['x-amz-bucket-region'];
      const err = await responseError(res);
      if (
        !redirected &&
        this.#client.config.followRegionRedirects === true &&
        (status === 301 || status === 400) &&
        typeof bucketRegion === 'string' &&
        bucketRegion !== region
      ) {
        this.#redirectedRegion = bucketRegion;
        continue;
      }
      throw err;
    }
  }

  /** Closes the connections of GETs (as an Agent's destroy: a later GET opens new ones). */
  close(): void {
    this.#raw?.close();
    this.#raw = undefined;
  }

  #signed(
    target: Target,
    req: PlainRequest,
    credentials: Credentials,
    region: string,
  ): { path: string; headers: Record<string, string> } {
    const headers: Record<string, string> = { ...req.headers, host: target.host };
    if (req.body !== undefined) headers['content-length'] = String(req.body.length);
    const path = `${target.basePath}/${encodeKeyPath(req.key)}`;
    const query = req.query === undefined ? '' : canonicalQuery(req.query);
    const now = Date.now() + (this.#client.config.systemClockOffset ?? 0);
    this.#signer.sign({ method: req.method, path, query, headers }, credentials, region, now);
    return { path: query === '' ? path : `${path}?${query}`, headers };
  }

  #get(target: Target, req: PlainRequest, credentials: Credentials, region: string): Promise<PlainAnswer> {
    if (this.#raw === undefined) {
      this.#raw = new RawHttpPool(
        {
          https: target.https,
          hostname: target.hostname,
          port: target.port ?? (target.https ? 443 : 80),
          rejectUnauthorized: !this.#settings.tlsInsecureNoVerify,
        },
        this.#settings.timeouts,
        this.#settings.concurrency + 4,
      );
    }
    const { path, headers } = this.#signed(target, req, credentials, region);
    return this.#raw.get(path, headers);
  }

  async #resolveTarget(): Promise<Target> {
    const config = this.#client.config;
    const { location } = this.#settings;
    const endpoint = config.endpointProvider({
      Bucket: location.bucket,
      Region: await config.region(),
      Endpoint: location.endpoint,
      ForcePathStyle: config.forcePathStyle === true,
      UseFIPS: false,
      UseDualStack: false,
      Accelerate: false,
    });
    const url = endpoint.url;
    const schemes = endpoint.properties?.authSchemes;
    const scheme = Array.isArray(schemes) ? (schemes[0] as Record<string, unknown> | undefined) : undefined;
    const signingRegion = scheme?.signingRegion;
    return {
      https: url.protocol === 'https:',
      hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port === '' ? undefined : Number(url.port),
      host: url.host,
      basePath: url.pathname.replace(/\/+$/, ''),
      region: typeof signingRegion === 'string' ? signingRegion : this.#settings.region,
      sigv4: scheme === undefined || (scheme.name === 'sigv4' && scheme.signingName === 's3'),
    };
  }

  #request(
    target: Target,
    req: PlainRequest,
    credentials: Credentials,
    region: string,
  ): Promise<IncomingMessage> {
    const { signal, body } = req;
    if (signal?.aborted) return Promise.reject(abortError(signal));
    const { path, headers } = this.#signed(target, req, credentials, region);
    const { connectMs, requestMs, idleMs } = this.#settings.timeouts;
    return new Promise((resolve, reject) => {
      const r = (target.https ? httpsRequest : httpRequest)({
        agent: target.https ? this.#agents.https : this.#agents.http,
        hostname: target.hostname,
        ...(target.port !== undefined ? { port: target.port } : {}),
        method: req.method,
        path,
        headers,
      });
      const answerTimer = setTimeout(
        () => r.destroy(timeoutError(`no answer within ${requestMs} ms`)),
        requestMs,
      );
      const onAbort = () => r.destroy(abortError(signal!));
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => {
        clearTimeout(answerTimer);
        signal?.removeEventListener('abort', onAbort);
      };
      r.on('socket', (socket) => {
        if (!socket.connecting) return;
        const connectTimer = setTimeout(
          () => r.destroy(timeoutError(`no connection within ${connectMs} ms`)),
          connectMs,
        );
        socket.once('connect', () => clearTimeout(connectTimer));
        socket.once('close', () => clearTimeout(connectTimer));
      });
      r.setTimeout(idleMs, () => r.destroy(timeoutError(`no data for ${idleMs} ms`)));
      r.on('response', (res) => {
        done();
        resolve(res);
      });
      // Stays for the life of the request: a failure while the body streams reaches the body.
      r.on('error', (err) => {
        done();
        reject(err);
      });
      if (body === undefined) r.end();
      else r.end(body);
    });
  }
}
