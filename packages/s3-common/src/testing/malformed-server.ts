/**
 * A misbehaving S3 endpoint for tests: a `node:net` server that reads each request's head (and
 * body) itself and writes crafted raw answers, so that answers no well-behaved HTTP server would
 * send can be served: both Content-Length and chunked framing, two Content-Lengths, a body shorter
 * or longer than its Content-Length, a chunked body cut short, a megabyte of headers, a body that
 * stalls, headers that never come. It keeps a bucket of objects in memory and answers
 * ListObjectsV2 (path-style, the whole listing in one page), GetObject (whole and ranged, with
 * `If-Match`), HeadObject, PutObject and UploadPart (its ETag the part's MD5); signatures are not checked (any credentials do). How each
 * request is answered is the `plan`'s choice; every request is recorded.
 */
import { createHash } from 'node:crypto';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import type { OptionSpec } from '@kloset/connector-contract';
import { readS3Settings, type S3Settings } from '../settings.ts';

/** How one answer is framed: `valid`, or one of the malformed shapes. */
export type AnswerShape =
  | 'valid'
  /** Both `Content-Length` (of the chunked bytes) and `Transfer-Encoding: chunked`; chunked body. */
  | 'cl-and-chunked'
  /** Two different `Content-Length` headers (N and N+7); N bytes then 7 junk bytes, kept open. */
  | 'two-content-lengths'
  /** Half of the Content-Length's bytes, then the server closes the connection. */
  | 'short-body'
  /** The body, then (same write, connection kept open) a smuggled second answer `EVIL!`. */
  | 'long-body'
  /** Chunked: the first chunk (half the body), then the connection closes before the last chunk. */
  | 'cut-chunked'
  /** 1 MiB of `x-amz-meta-pad-N` headers before a valid body. */
  | 'huge-headers'
  /** Headers and half the body, then nothing, the connection kept open. */
  | 'stalled-body'
  /** The request is read, nothing is ever answered, the connection kept open. */
  | 'no-headers';

/** Every malformed shape, in the order of the issue's list. */
export const MALFORMED_SHAPES: readonly Exclude<AnswerShape, 'valid'>[] = [
  'cl-and-chunked',
  'two-content-lengths',
  'short-body',
  'long-body',
  'cut-chunked',
  'huge-headers',
  'stalled-body',
  'no-headers',
];

/**
 * The shapes after which another attempt may well succeed (a cut or stalled connection): their
 * errors must be `transient` (retried). The others may be refused with any code.
 */
export const TRANSIENT_SHAPES: ReadonlySet<AnswerShape> = new Set([
  'short-body',
  'cut-chunked',
  'stalled-body',
  'no-headers',
]);

/** The body of the answer smuggled by `long-body`. */
export const SMUGGLED_BODY = 'EVIL!';

/** What a request asked for. */
export type ServedOp = 'ListObjectsV2' | 'GetObject' | 'HeadObject' | 'PutObject' | 'UploadPart' | 'Other';

/** A request as the server received it. */
export interface ServedRequest {
  readonly op: ServedOp;
  readonly method: string;
  /** The request target as sent (path and query). */
  readonly target: string;
  /** The object key, decoded ('' for bucket-level requests). */
  readonly key: string;
  readonly query: Readonly<Record<string, string>>;
  /** Names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  /** Which connection (0-based, in order of acceptance) and which request on it (0-based). */
  readonly connection: number;
  readonly onConnection: number;
}

/**
 * Chooses the shape of the answer to `req`; `nth` counts the earlier requests of the same op on
 * the same key (0 for the first).
 */
export type AnswerPlan = (req: ServedRequest, nth: number) => AnswerShape;

/** A running server. */
export interface MalformedServer {
  /** `http://127.0.0.1:PORT` */
  readonly endpoint: string;
  /** `127.0.0.1:PORT`, the ENDPOINT of an s3:// location. */
  readonly host: string;
  readonly bucket: string;
  /** Every request received, in order. */
  readonly requests: readonly ServedRequest[];
  /** Connections accepted so far. */
  readonly connections: number;
  /** Requests of `op` on `key` received so far. */
  count(op: ServedOp, key: string): number;
  /** Replaces the plan (and forgets the requests seen: counts start again at 0). */
  setPlan(plan: AnswerPlan): void;
  /** The object stored at `key` (PutObject bodies are stored when answered `valid`). */
  object(key: string): Uint8Array | undefined;
  close(): Promise<void>;
}

/** What the server is built with. */
export interface MalformedServerOptions {
  readonly bucket: string;
  /** The bucket's objects by key. */
  readonly objects: Readonly<Record<string, Uint8Array>>;
  /** Default: every answer `valid`. */
  readonly plan?: AnswerPlan;
}

const LAST_MODIFIED = new Date('2024-05-06T07:08:09.000Z');
const HEAD_MAX = 1024 * 1024;
const HUGE_HEADER_BYTES = 1024 * 1024;
/** The body of malformed PutObject answers (a real one is empty: nothing to cut or stall). */
const PUT_FILLER = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n<Filler>${'x'.repeat(200)}</Filler>`);

function md5Etag(body: Uint8Array): string {
  return `"${createHash('md5').update(body).digest('hex')}"`;
}

function xmlEscape(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** S3's `encoding-type=url` encoding of a key, `/` kept. */
function urlEncodeKey(key: string): string {
  return encodeURIComponent(key).replace(/%2F/g, '/');
}

/** One answer before framing: status, headers (without framing ones), body. */
interface Answer {
  readonly status: number;
  readonly reason: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Uint8Array;
  /** HEAD: the headers of a body not sent. */
  readonly headOnly?: boolean;
}

/** An S3 error answer (its XML body; only the head for a HEAD). */
function errorAnswer(
  status: number,
  reason: string,
  code: string,
  message: string,
  headOnly = false,
): Answer {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error>`;
  return { status, reason, headers: [['Content-Type', 'application/xml']], body: Buffer.from(xml), headOnly };
}

/** `body` as chunked framing: two chunks and the last one. */
function chunked(body: Uint8Array): Buffer {
  const half = Math.ceil(body.length / 2);
  const parts: Buffer[] = [];
  for (const piece of [body.subarray(0, half), body.subarray(half)]) {
    if (piece.length === 0) continue;
    parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), Buffer.from(piece), Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

function head(a: Answer, extra: readonly (readonly [string, string])[]): string {
  let text = `HTTP/1.1 ${a.status} ${a.reason}\r\n`;
  for (const [name, value] of [...a.headers, ...extra]) text += `${name}: ${value}\r\n`;
  return `${text}\r\n`;
}

function hugeHeaders(): [string, string][] {
  const out: [string, string][] = [];
  const value = 'p'.repeat(1000);
  for (let i = 0, bytes = 0; bytes < HUGE_HEADER_BYTES; i++) {
    const name = `x-amz-meta-pad-${i}`;
    out.push([name, value]);
    bytes += name.length + value.length + 4;
  }
  return out;
}

/** Starts a server for `options.bucket` on 127.0.0.1 (a free port). */
export async function startMalformedServer(options: MalformedServerOptions): Promise<MalformedServer> {
  const { bucket } = options;
  const objects = new Map<string, Uint8Array>(Object.entries(options.objects));
  let plan: AnswerPlan = options.plan ?? (() => 'valid');
  let requests: ServedRequest[] = [];
  let seen = new Map<string, number>();
  const sockets = new Set<Socket>();
  let connections = 0;

  const opOf = (method: string, key: string, query: Record<string, string>): ServedOp => {
    if (key === '' && method === 'GET' && query['list-type'] === '2') return 'ListObjectsV2';
    if (key === '') return 'Other';
    if (method === 'GET') return 'GetObject';
    if (method === 'HEAD') return 'HeadObject';
    if (method === 'PUT') return query.uploadId === undefined ? 'PutObject' : 'UploadPart';
    return 'Other';
  };

  const listing = (query: Record<string, string>): Answer => {
    const prefix = query.prefix ?? '';
    const url = query['encoding-type'] === 'url';
    const keys = [...objects.keys()].filter((k) => k.startsWith(prefix)).sort();
    const items = keys
      .map((k) => {
        const body = objects.get(k)!;
        return `<Contents><Key>${xmlEscape(url ? urlEncodeKey(k) : k)}</Key><LastModified>${LAST_MODIFIED.toISOString()}</LastModified><ETag>${xmlEscape(md5Etag(body))}</ETag><Size>${body.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`;
      })
      .join('');
    const xml =
      `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
      `<Name>${xmlEscape(bucket)}</Name><Prefix>${xmlEscape(url ? urlEncodeKey(prefix) : prefix)}</Prefix>` +
      `<KeyCount>${keys.length}</KeyCount><MaxKeys>1000</MaxKeys>${url ? '<EncodingType>url</EncodingType>' : ''}` +
      `<IsTruncated>false</IsTruncated>${items}</ListBucketResult>`;
    return {
      status: 200,
      reason: 'OK',
      headers: [['Content-Type', 'application/xml']],
      body: Buffer.from(xml),
    };
  };

  const objectAnswer = (req: ServedRequest): Answer => {
    const body = objects.get(req.key);
    const headOnly = req.op === 'HeadObject';
    if (body === undefined) {
      return errorAnswer(404, 'Not Found', 'NoSuchKey', 'The specified key does not exist.', headOnly);
    }
    const etag = md5Etag(body);
    const ifMatch = req.headers['if-match'];
    if (ifMatch !== undefined && ifMatch !== etag && ifMatch !== '*') {
      const why = 'At least one of the pre-conditions you specified did not hold';
      return errorAnswer(412, 'Precondition Failed', 'PreconditionFailed', why, headOnly);
    }
    const common: [string, string][] = [
      ['ETag', etag],
      ['Last-Modified', LAST_MODIFIED.toUTCString()],
      ['Accept-Ranges', 'bytes'],
      ['Content-Type', 'application/octet-stream'],
      ['x-amz-request-id', `req-${requests.length}`],
    ];
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (range && req.op === 'GetObject') {
      const start = Number(range[1]);
      const end = range[2] === '' ? body.length - 1 : Math.min(Number(range[2]), body.length - 1);
      if (start >= body.length) {
        const why = 'The requested range is not satisfiable';
        return errorAnswer(416, 'Requested Range Not Satisfiable', 'InvalidRange', why);
      }
      return {
        status: 206,
        reason: 'Partial Content',
        headers: [...common, ['Content-Range', `bytes ${start}-${end}/${body.length}`]],
        body: body.subarray(start, end + 1),
      };
    }
    return { status: 200, reason: 'OK', headers: common, body, headOnly };
  };

  /** Writes `a` framed as `shape`; false when the connection must not be read any more. */
  const write = (socket: Socket, a: Answer, shape: AnswerShape): boolean => {
    const body = Buffer.from(a.body);
    const half = body.subarray(0, Math.floor(body.length / 2));
    switch (shape) {
      case 'valid':
        socket.write(head(a, [['Content-Length', String(body.length)]]));
        if (a.headOnly !== true) socket.write(body);
        return true;
      case 'cl-and-chunked': {
        const wire = chunked(body);
        socket.write(
          head(a, [
            ['Content-Length', String(wire.length)],
            ['Transfer-Encoding', 'chunked'],
          ]),
        );
        socket.write(wire);
        return true;
      }
      case 'two-content-lengths':
        socket.write(
          head(a, [
            ['Content-Length', String(body.length)],
            ['Content-Length', String(body.length + 7)],
          ]),
        );
        socket.write(Buffer.concat([body, Buffer.from('GARBAGE')]));
        return true;
      case 'short-body':
        socket.end(Buffer.concat([Buffer.from(head(a, [['Content-Length', String(body.length)]])), half]));
        return false;
      case 'long-body': {
        const smuggled = `HTTP/1.1 200 OK\r\nContent-Length: ${SMUGGLED_BODY.length}\r\nETag: "smuggled"\r\n\r\n${SMUGGLED_BODY}`;
        socket.write(
          Buffer.concat([
            Buffer.from(head(a, [['Content-Length', String(body.length)]])),
            body,
            Buffer.from(smuggled),
          ]),
        );
        return true;
      }
      case 'cut-chunked': {
        const first = `${half.length.toString(16)}\r\n`;
        socket.end(
          Buffer.concat([
            Buffer.from(head(a, [['Transfer-Encoding', 'chunked']])),
            Buffer.from(first),
            half,
            Buffer.from('\r\n'),
          ]),
        );
        return false;
      }
      case 'huge-headers':
        socket.write(head(a, [...hugeHeaders(), ['Content-Length', String(body.length)]]));
        socket.write(body);
        return true;
      case 'stalled-body':
        socket.write(Buffer.concat([Buffer.from(head(a, [['Content-Length', String(body.length)]])), half]));
        return false;
      case 'no-headers':
        return false;
    }
  };

  const answer = (socket: Socket, req: ServedRequest, reqBody: Buffer): boolean => {
    const counted = `${req.op} ${req.key}`;
    const nth = seen.get(counted) ?? 0;
    seen.set(counted, nth + 1);
    requests.push(req);
    const shape = plan(req, nth);
    let a: Answer;
    if (req.op === 'ListObjectsV2') a = listing(req.query);
    else if (req.op === 'GetObject' || req.op === 'HeadObject') a = objectAnswer(req);
    else if (req.op === 'PutObject' || req.op === 'UploadPart') {
      if (shape === 'valid' && req.op === 'PutObject') objects.set(req.key, new Uint8Array(reqBody));
      a = {
        status: 200,
        reason: 'OK',
        headers: [
          ['ETag', md5Etag(reqBody)],
          ['x-amz-request-id', `req-${requests.length}`],
        ],
        body: shape === 'valid' ? new Uint8Array(0) : PUT_FILLER,
      };
    } else {
      a = errorAnswer(
        501,
        'Not Implemented',
        'NotImplemented',
        `${req.method} ${req.target} is not served here`,
      );
    }
    return write(socket, a, shape);
  };

  const server: Server = createServer((socket) => {
    const connection = connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffered = Buffer.alloc(0);
    let onConnection = 0;
    let reading = true;
    socket.on('data', (data: Buffer) => {
      if (!reading) return;
      buffered = Buffer.concat([buffered, data]);
      for (;;) {
        const stop = buffered.indexOf('\r\n\r\n');
        if (stop < 0) {
          if (buffered.length > HEAD_MAX) socket.destroy();
          return;
        }
        const lines = buffered.subarray(0, stop).toString('latin1').split('\r\n');
        const headers: Record<string, string> = {};
        for (const line of lines.slice(1)) {
          const colon = line.indexOf(':');
          if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        }
        const length = Number(headers['content-length'] ?? 0);
        if (buffered.length < stop + 4 + length) {
          if (headers.expect?.toLowerCase() === '100-continue' && buffered.length === stop + 4) {
            socket.write('HTTP/1.1 100 Continue\r\n\r\n');
          }
          return;
        }
        const reqBody = buffered.subarray(stop + 4, stop + 4 + length);
        buffered = buffered.subarray(stop + 4 + length);
        const [method = '', target = ''] = (lines[0] ?? '').split(' ');
        const url = new URL(target, 'http://server');
        const query: Record<string, string> = {};
        for (const [k, v] of url.searchParams) query[k] = v;
        const path = decodeURIComponent(url.pathname);
        const base = `/${bucket}`;
        const key =
          path === base || path === `${base}/`
            ? ''
            : path.startsWith(`${base}/`)
              ? path.slice(base.length + 1)
              : path;
        const req: ServedRequest = {
          op: opOf(method, key, query),
          method,
          target,
          key,
          query,
          headers,
          connection,
          onConnection: onConnection++,
        };
        if (!answer(socket, req, Buffer.from(reqBody))) {
          reading = false;
          return;
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    bucket,
    get requests() {
      return requests;
    },
    get connections() {
      return connections;
    },
    count: (op, key) => requests.filter((r) => r.op === op && r.key === key).length,
    setPlan(next) {
      plan = next;
      requests = [];
      seen = new Map();
    },
    object: (key) => objects.get(key),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * Slack for one request: timers that fire late on a loaded machine, and coarse ones (undici's
 * timeouts of a second or more tick every 500 ms: a 1,500 ms headers timeout fires at up to ~2 s).
 */
const ATTEMPT_SLACK_MS = 1000;
/** Fixed slack of a whole read (connection set-up, the other objects of a scan). */
const READ_SLACK_MS = 1000;

/** Small timeouts for tests against this server. */
export const MALFORMED_TEST_TIMEOUTS = { connectMs: 1000, requestMs: 1500, idleMs: 1000 } as const;

/** A retry policy for tests against this server: 3 attempts, short delays. */
export const MALFORMED_TEST_RETRY = { attempts: 3, baseDelayMs: 50, maxDelayMs: 200 } as const;

/**
 * The longest one request to this server may take under `timeouts`: its answer's head within
 * `requestMs`, or a body silent for `idleMs`, whichever is longer, plus slack. Connecting is not
 * counted: the server accepts at once.
 */
export function attemptBoundMs(timeouts: { readonly requestMs: number; readonly idleMs: number }): number {
  return Math.max(timeouts.requestMs, timeouts.idleMs) + ATTEMPT_SLACK_MS;
}

/**
 * The longest a read retried under `policy` may take: every attempt at its bound, the largest
 * delay before each retry (`min(maxDelayMs, baseDelayMs * 2^n)`), and a fixed slack.
 */
export function retriedBoundMs(
  timeouts: { readonly requestMs: number; readonly idleMs: number },
  policy: { readonly attempts: number; readonly baseDelayMs: number; readonly maxDelayMs: number },
): number {
  let delays = 0;
  for (let n = 0; n + 1 < policy.attempts; n++)
    delays += Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** n);
  return policy.attempts * attemptBoundMs(timeouts) + delays + READ_SLACK_MS;
}

/**
 * Settings for `server`'s bucket (under `prefix`) read with a connector's option `specs`: fake
 * credentials, plain HTTP, MALFORMED_TEST_TIMEOUTS.
 */
export function malformedServerSettings(
  server: MalformedServer,
  specs: readonly OptionSpec[],
  prefix = '',
): S3Settings {
  const settings = readS3Settings(
    {
      location: `s3://${server.host}/${server.bucket}${prefix === '' ? '' : `/${prefix}`}`,
      options: { access_key: 'AKIAFAKEFAKEFAKE', secret_access_key: 'fake-secret', use_tls: false },
    },
    specs,
  );
  return { ...settings, timeouts: MALFORMED_TEST_TIMEOUTS };
}
