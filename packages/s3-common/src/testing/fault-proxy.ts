/**
 * A fault-injecting HTTP proxy in front of the S3 test server: it forwards requests unchanged
 * (SigV4 signatures stay valid: the Host header is passed through) and, on a schedule, answers
 * 503 SlowDown, resets the connection before answering, cuts a response body midway, flips a
 * byte of it or flips a byte of the request body on its way to the server. For
 * testing retries of the S3 connectors against the real server.
 */
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * What happens to one request: forwarded (`pass`), answered 503 SlowDown, connection reset before
 * any answer, response body cut in the middle, one byte of the response body flipped, or the
 * first byte of the request body flipped (`flip-request-byte`).
 */
export type ProxyFault = 'pass' | 'slowdown' | 'reset' | 'cut-body' | 'flip-byte' | 'flip-request-byte';

/** A request as the proxy received it. */
export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** Decides the fault of the n-th request (0-based) given its method and path. */
export type FaultPlan = (n: number, method: string, path: string) => ProxyFault;

/** A running proxy. */
export interface FaultProxy {
  /** `http://127.0.0.1:PORT` */
  readonly endpoint: string;
  /** `127.0.0.1:PORT`, the ENDPOINT of an s3:// location. */
  readonly host: string;
  /** How many requests got each fault so far. */
  readonly counts: Record<ProxyFault, number>;
  /** Every request received, in order. */
  readonly requests: readonly SeenRequest[];
  close(): Promise<void>;
}

const SLOWDOWN =
  '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>';

/** Every `every`-th request fails, cycling through `faults`. */
export function everyNth(every: number, faults: readonly ProxyFault[]): FaultPlan {
  return (n) => (n % every === every - 1 ? faults[Math.floor(n / every) % faults.length]! : 'pass');
}

/** Starts a proxy to `target` (`http://127.0.0.1:7480`) applying `plan`. */
export async function startFaultProxy(target: string, plan: FaultPlan): Promise<FaultProxy> {
  const to = new URL(target);
  const counts: Record<ProxyFault, number> = {
    pass: 0,
    slowdown: 0,
    reset: 0,
    'cut-body': 0,
    'flip-byte': 0,
    'flip-request-byte': 0,
  };
  const requests: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  let n = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const fault = plan(n++, req.method ?? 'GET', req.url ?? '/');
    counts[fault]++;
    requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', headers: { ...req.headers } });
    if (fault === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault === 'slowdown') {
      req.resume();
      req.on('end', () => {
        res.writeHead(503, {
          'content-type': 'application/xml',
          'content-length': Buffer.byteLength(SLOWDOWN),
        });
        res.end(SLOWDOWN);
      });
      return;
    }
    const up = request(
      { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        // HEAD answers carry a Content-Length but no body: nothing to cut or flip.
        const length = req.method === 'HEAD' ? 0 : Number(upRes.headers['content-length'] ?? 0);
        if (fault === 'cut-body' && length > 1) {
          let sent = 0;
          upRes.on('data', (chunk: Buffer) => {
            const room = Math.floor(length / 2) - sent;
            if (room > 0) res.write(chunk.subarray(0, room));
            sent += chunk.length;
            if (sent >= length / 2) {
              upRes.destroy();
              res.socket?.destroy();
            }
          });
          return;
        }
        if (fault === 'flip-byte' && length > 0) {
          let flipped = false;
          upRes.on('data', (chunk: Buffer) => {
            if (!flipped && chunk.length > 0) {
              chunk[0] = chunk[0]! ^ 0xff;
              flipped = true;
            }
            res.write(chunk);
          });
          upRes.on('end', () => res.end());
          return;
        }
        upRes.pipe(res);
      },
    );
    up.on('error', () => res.socket?.destroy());
    if (fault === 'flip-request-byte') {
      let flipped = false;
      req.on('data', (chunk: Buffer) => {
        if (!flipped && chunk.length > 0) {
          chunk[0] = chunk[0]! ^ 0xff;
          flipped = true;
        }
        up.write(chunk);
      });
      req.on('end', () => up.end());
      return;
    }
    req.pipe(up);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    counts,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
