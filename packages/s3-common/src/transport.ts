/**
 * The one data-plane transport of the S3 connectors: GetObject (whole and ranged), PutObject,
 * UploadPart and ListObjectsV2 are sent here, over undici (dispatcher.ts: a Pool for the bucket's
 * endpoint, or a proxy agent), each signed once with SigV4 (sigv4.ts). Framing is undici's (llhttp,
 * strict); answers come back through answer-body.ts.
 *
 * What is kept from the AWS SDK client of the connection: the credentials (its provider chain,
 * session tokens, refreshes), the endpoint and signing region (its endpoint rules, target.ts) and
 * the clock skew it measured. What it would do per request is done here: signing, the redirect to
 * the bucket's region on AWS, and S3 error bodies turned into errors with the S3 code and the HTTP
 * status that toConnectorError maps (s3-error.ts). Control-plane calls (bucket operations,
 * multipart create/complete/abort, tagging, HEAD, DELETE) stay on the SDK.
 */
import { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Dispatcher } from 'undici';
import { type Answer, AnswerHandler } from './answer-body.ts';
import { createDispatcher } from './dispatcher.ts';
import { responseError } from './s3-error.ts';
import type { S3Settings } from './settings.ts';
import { canonicalQuery, encodeKeyPath, SigV4Signer } from './sigv4.ts';
import { resolveTarget, type S3Target } from './target.ts';

/**
 * Bodies larger than this go to undici in slices of this size. undici's headers timeout runs from
 * the start of a request and is restarted only when a slice of an iterable body is written: so
 * the request timeout (S3Timeouts.requestMs) means "no progress" while a large body is sent, and
 * a slow link that moves data is not cut, while a server that stops reading is.
 */
const BODY_SLICE = 256 * 1024;

function* slices(body: Uint8Array): Generator<Uint8Array> {
  for (let at = 0; at < body.length; at += BODY_SLICE) yield body.subarray(at, at + BODY_SLICE);
}

/** One request on the connection's bucket. */
export interface TransportRequest {
  readonly method: 'GET' | 'PUT';
  /** The object's key; `` for the bucket itself (a listing). */
  readonly key: string;
  /** Query parameters, signed (UploadPart's `partNumber` and `uploadId`, a listing's). */
  readonly query?: Readonly<Record<string, string>>;
  /** Header names in lower case. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Uint8Array;
  readonly signal?: AbortSignal | undefined;
}

/** Sends the data-plane requests of one connection. */
export class S3Transport {
  readonly #client: S3Client;
  readonly #settings: S3Settings;
  readonly #connections: number;
  readonly #env: Readonly<Record<string, string | undefined>>;
  readonly #signer = new SigV4Signer();
  #target: Promise<S3Target> | undefined;
  #dispatcher: Dispatcher | undefined;
  /** The bucket's region, once AWS redirected us there. */
  #redirectedRegion: string | undefined;

  /** `connections`: sockets to the endpoint at most. */
  constructor(
    client: S3Client,
    settings: S3Settings,
    connections: number,
    env: Readonly<Record<string, string | undefined>>,
  ) {
    this.#client = client;
    this.#env = env;
    this.#settings = settings;
    this.#connections = connections;
  }

  /**
   * Sends `req`; resolves once the headers of a 2xx answer are in (its body is the caller's to
   * read to its end or destroy), else throws: S3ResponseError for an S3 error answer, undici's
   * errors for the network, framing, timeouts; the signal's reason when it fires.
   */
  async send(req: TransportRequest): Promise<Answer> {
    this.#target ??= resolveTarget(this.#client, this.#settings);
    const target = await this.#target;
    const dispatcher = this.#pool(target);
    for (let redirected = false; ; redirected = true) {
      const region = this.#redirectedRegion ?? target.region;
      const res = await this.#dispatch(dispatcher, target, req, region);
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

  /** Closes every connection; a later request opens new ones. */
  async close(): Promise<void> {
    const d = this.#dispatcher;
    this.#dispatcher = undefined;
    await d?.destroy();
  }

  #pool(target: S3Target): Dispatcher {
    this.#dispatcher ??= createDispatcher({
      origin: target.origin,
      connections: this.#connections,
      timeouts: this.#settings.timeouts,
      tlsInsecureNoVerify: this.#settings.tlsInsecureNoVerify,
      env: this.#env,
    });
    return this.#dispatcher;
  }

  async #dispatch(
    dispatcher: Dispatcher,
    target: S3Target,
    req: TransportRequest,
    region: string,
  ): Promise<Answer> {
    const credentials = await this.#client.config.credentials();
    const headers: Record<string, string> = { ...req.headers, host: target.host };
    if (req.body !== undefined) headers['content-length'] = String(req.body.length);
    const path = `${target.basePath}/${encodeKeyPath(req.key)}`;
    const query = req.query === undefined ? '' : canonicalQuery(req.query);
    const now = Date.now() + (this.#client.config.systemClockOffset ?? 0);
    this.#signer.sign({ method: req.method, path, query, headers }, credentials, region, now);
    const handler = new AnswerHandler(req.signal);
    dispatcher.dispatch(
      {
        origin: target.origin,
        method: req.method,
        path: query === '' ? path : `${path}?${query}`,
        headers,
        ...(req.body !== undefined
          ? { body: req.body.length > BODY_SLICE ? Readable.from(slices(req.body)) : req.body }
          : {}),
      },
      handler,
    );
    return handler.answer;
  }
}
