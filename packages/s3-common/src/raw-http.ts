/**
 * A minimal HTTP/1.1 client for GET requests whose answers are object bodies: keep-alive
 * connections to one endpoint, the answer's head parsed here, its body handed out as views of
 * 256 KiB slabs. Plain-HTTP sockets read into one reused buffer (`onread`), so a body costs a slab
 * every 256 KiB instead of a new buffer per socket read and node:http's stream per answer: reading
 * 653 MB over 32 sockets, 0.44 s instead of 1.29 s with 'data' events, and V8 no longer runs a full
 * garbage collection every ~30 MB of bodies. TLS sockets feed the same parser from 'data' events.
 *
 * Framing: Content-Length, chunked, or until the server closes; 1xx answers are skipped. A socket
 * goes back to the pool once its answer's body is whole (unless the server said `close`), even
 * before the consumer has read it; a body dropped early closes its socket.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/** Where requests go. */
export interface RawEndpoint {
  readonly https: boolean;
  readonly hostname: string;
  readonly port: number;
  /** TLS: refuse certificates that do not verify (false: `tls_insecure_no_verify`). */
  readonly rejectUnauthorized: boolean;
}

/** Timeouts of a request: connecting, the answer's head, and silence while it is being read. */
export interface RawTimeouts {
  readonly connectMs: number;
  readonly requestMs: number;
  readonly idleMs: number;
}

/** An answer: status, headers (names in lower case, repeated ones joined with `, `), body. */
export interface RawAnswer {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: RawBody;
}

const SLAB_BYTES = 256 * 1024;
const READ_BUFFER_BYTES = 64 * 1024;
/** Bytes queued for the consumer above which the socket stops reading, and below which it resumes. */
const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;
const HEAD_MAX = 64 * 1024;
/** A pooled socket idle this long is closed rather than reused (servers close idle ones too). */
const POOL_IDLE_MS = 15_000;

function netError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

/** A garbled answer (retried: a proxy or a cut connection does this). */
function framingError(message: string): Error {
  return netError(message, 'HPE_INVALID_FRAMING');
}

/** A timeout, named TimeoutError as the SDK's are. */
export function timeoutError(what: string): Error {
  return Object.assign(new Error(what), { name: 'TimeoutError' });
}

/** The body of an answer: async-iterable once, `destroy()` to stop early. */
export class RawBody implements AsyncIterable<Uint8Array> {
  readonly #queue: Uint8Array[] = [];
  #queued = 0;
  #done = false;
  #error: Error | undefined;
  #waiter: (() => void) | undefined;
  #onDrain: (() => void) | undefined;
  #onWait: (() => void) | undefined;
  #onDestroy: ((complete: boolean) => void) | undefined;
  #destroyed = false;

  /** Bytes handed over and not yet read. */
  get queued(): number {
    return this.#queued;
  }

  /**
   * @internal The connection's hooks: resume reading, hand over the bytes it holds (the reader
   * waits), and drop the socket of an unfinished body.
   */
  bind(onDrain: () => void, onWait: () => void, onDestroy: (complete: boolean) => void): void {
    this.#onDrain = onDrain;
    this.#onWait = onWait;
    this.#onDestroy = onDestroy;
  }

  /** @internal True while the reader waits for bytes. */
  get waiting(): boolean {
    return this.#waiter !== undefined;
  }

  /** @internal */
  push(bytes: Uint8Array): void {
    if (this.#destroyed || bytes.length === 0) return;
    this.#queue.push(bytes);
    this.#queued += bytes.length;
    this.#wake();
  }

  /** @internal The body is whole. */
  end(): void {
    this.#done = true;
    this.#wake();
  }

  /** @internal The body will not be whole. */
  fail(err: Error): void {
    if (this.#done) return;
    this.#error ??= err;
    this.#done = true;
    this.#wake();
  }

  /** True once the body was read or failed. */
  get finished(): boolean {
    return this.#done && this.#queue.length === 0;
  }

  #wake(): void {
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.();
  }

  /** Stops reading: an unfinished body closes its socket. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    const complete = this.#done && this.#error === undefined;
    this.#queue.length = 0;
    this.#queued = 0;
    this.#done = true;
    this.#error ??= new Error('the body was destroyed');
    this.#wake();
    this.#onDestroy?.(complete);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    try {
      for (;;) {
        const next = this.#queue.shift();
        if (next !== undefined) {
          this.#queued -= next.length;
          if (this.#queued < LOW_WATER) this.#onDrain?.();
          yield next;
          continue;
        }
        if (this.#done) {
          if (this.#error !== undefined && !this.#destroyed) throw this.#error;
          return;
        }
        this.#onWait?.();
        if (this.#queue.length > 0 || this.#done) continue;
        await new Promise<void>((resolve) => {
          this.#waiter = resolve;
        });
      }
    } finally {
      if (!this.finished || this.#error !== undefined) this.destroy();
    }
  }
}

type Phase =
  | 'head'
  | 'length'
  | 'chunk-size'
  | 'chunk-data'
  | 'chunk-end'
  | 'trailer'
  | 'until-close'
  | 'done';

/** One keep-alive connection. */
class Connection {
  readonly socket: Socket;
  readonly #pool: RawHttpPool;
  #head = '';
  #phase: Phase = 'done';
  #left = 0;
  #line = '';
  #keepAlive = true;
  #answer: { resolve: (a: RawAnswer) => void; reject: (e: Error) => void } | undefined;
  #body: RawBody | undefined;
  #slab: Uint8Array = new Uint8Array(0);
  #slabPos = 0;
  #slabFlushed = 0;
  #idleTimer: NodeJS.Timeout | undefined;
  #dead = false;
  #paused = false;

  constructor(pool: RawHttpPool, socket: Socket) {
    this.#pool = pool;
    this.socket = socket;
    socket.on('error', (err) => this.#close(err));
    socket.on('close', () => this.#close(netError('the server closed the connection', 'ECONNRESET')));
    socket.on('end', () => {
      if (this.#phase === 'until-close') this.#finishBody();
      this.#close(netError('the server closed the connection', 'ECONNRESET'));
    });
    socket.on('timeout', () => this.#close(timeoutError(`no data for ${this.#pool.timeouts.idleMs} ms`)));
  }

  get idle(): boolean {
    return this.#phase === 'done' && this.#answer === undefined && !this.#dead;
  }

  get dead(): boolean {
    return this.#dead;
  }

  /** Sends a request; resolves with the answer once its head is in. */
  send(head: string, requestMs: number): Promise<RawAnswer> {
    if (this.#dead) return Promise.reject(netError('the connection is closed', 'ECONNRESET'));
    clearTimeout(this.#idleTimer);
    this.socket.ref();
    this.#phase = 'head';
    this.#head = '';
    this.#keepAlive = true;
    this.socket.setTimeout(this.#pool.timeouts.idleMs);
    return new Promise<RawAnswer>((resolve, reject) => {
      const timer = setTimeout(
        () => this.#close(timeoutError(`no answer within ${requestMs} ms`)),
        requestMs,
      );
      this.#answer = {
        resolve: (a) => {
          clearTimeout(timer);
          resolve(a);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.socket.write(head, 'latin1');
    });
  }

  /** Bytes read from the socket: `buf[start..end)`. False: stop reading for now. */
  feed(buf: Uint8Array, start: number, end: number): boolean {
    let at = start;
    while (at < end && !this.#dead) {
      switch (this.#phase) {
        case 'head':
          at = this.#feedHead(buf, at, end);
          break;
        case 'length':
          at = this.#copyCounted(buf, at, end);
          if (this.#left === 0) this.#finishBody();
          break;
        case 'until-close':
          this.#copy(buf, at, end - at);
          at = end;
          break;
        case 'chunk-data':
          at = this.#copyCounted(buf, at, end);
          if (this.#left === 0) {
            this.#phase = 'chunk-end';
            this.#line = '';
          }
          break;
        case 'chunk-size':
        case 'chunk-end':
        case 'trailer':
          at = this.#feedLine(buf, at, end);
          break;
        case 'done':
          // Bytes nobody asked for: the connection cannot be trusted any more.
          this.#close(netError('unexpected bytes after the answer', 'ECONNRESET'));
          return false;
      }
    }
    // Bytes go to the reader in pieces as large as the slab allows, or at once when it waits.
    const body = this.#body;
    if (body?.waiting) this.#flush();
    if (body !== undefined && body.queued + this.#slabPos - this.#slabFlushed > HIGH_WATER) {
      // Paused by the reader, not by the server: no idle timeout meanwhile.
      this.#paused = true;
      this.socket.setTimeout(0);
      return false;
    }
    return true;
  }

  #feedHead(buf: Uint8Array, at: number, end: number): number {
    const before = this.#head.length;
    this.#head += Buffer.from(buf.buffer, buf.byteOffset + at, end - at).toString('latin1');
    const stop = this.#head.indexOf('\r\n\r\n');
    if (stop < 0) {
      if (this.#head.length > HEAD_MAX) this.#close(framingError('answer head too large'));
      return end;
    }
    const used = stop + 4 - before;
    const text = this.#head.slice(0, stop);
    this.#head = '';
    const lines = text.split('\r\n');
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
    if (!status) {
      this.#close(netError(`not an HTTP answer: ${JSON.stringify((lines[0] ?? '').slice(0, 40))}`, 'EPROTO'));
      return end;
    }
    const statusCode = Number(status[1]);
    if (statusCode >= 100 && statusCode < 200) return at + used; // interim answer: the real one follows
    const headers: Record<string, string> = {};
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    if (/\bclose\b/i.test(headers.connection ?? '') || lines[0]!.startsWith('HTTP/1.0'))
      this.#keepAlive = false;
    const body = new RawBody();
    body.bind(
      () => {
        if (this.#body === body) this.#resume();
      },
      () => {
        if (this.#body === body) this.#flush();
      },
      (complete) => {
        if (!complete) this.#close(netError('the body was not read to its end', 'ECONNRESET'));
      },
    );
    this.#body = body;
    const te = headers['transfer-encoding'];
    if (statusCode === 204 || statusCode === 304) {
      this.#left = 0;
      this.#phase = 'length';
    } else if (te !== undefined && /chunked/i.test(te)) {
      this.#phase = 'chunk-size';
      this.#line = '';
    } else if (headers['content-length'] !== undefined) {
      const raw = headers['content-length'];
      const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
      if (!Number.isSafeInteger(n)) {
        this.#close(framingError('bad Content-Length'));
        return end;
      }
      this.#left = n;
      this.#phase = 'length';
    } else {
      this.#phase = 'until-close';
      this.#keepAlive = false;
    }
    const answer = this.#answer;
    this.#answer = undefined;
    if (this.#phase === 'length' && this.#left === 0) this.#finishBody();
    answer?.resolve({ statusCode, headers, body });
    return at + used;
  }

  /** The CRLF-ended lines of chunked framing. */
  #feedLine(buf: Uint8Array, at: number, end: number): number {
    let i = at;
    while (i < end && buf[i] !== 0x0a) i++;
    this.#line += Buffer.from(buf.buffer, buf.byteOffset + at, i - at).toString('latin1');
    if (i === end) {
      if (this.#line.length > 4096) this.#close(framingError('bad chunked framing'));
      return end;
    }
    const line = this.#line.replace(/\r$/, '');
    this.#line = '';
    if (this.#phase === 'chunk-size') {
      const hex = line.split(';')[0]!.trim();
      const size = /^[0-9a-fA-F]{1,12}$/.test(hex) ? Number.parseInt(hex, 16) : Number.NaN;
      if (!Number.isSafeInteger(size)) {
        this.#close(framingError('bad chunk size'));
        return end;
      }
      if (size === 0) this.#phase = 'trailer';
      else {
        this.#left = size;
        this.#phase = 'chunk-data';
      }
    } else if (this.#phase === 'chunk-end') {
      if (line !== '') {
        this.#close(framingError('bad chunked framing'));
        return end;
      }
      this.#phase = 'chunk-size';
    } else if (line === '') {
      this.#finishBody();
    }
    return i + 1;
  }

  /** Copies up to the `#left` bytes still due from `buf[at..end)`; returns where it stopped. */
  #copyCounted(buf: Uint8Array, at: number, end: number): number {
    const n = Math.min(this.#left, end - at);
    this.#copy(buf, at, n);
    this.#left -= n;
    return at + n;
  }

  /** Copies body bytes into the slab (handed out at the end of this read, or when full). */
  #copy(buf: Uint8Array, at: number, n: number): void {
    let from = at;
    let left = n;
    while (left > 0) {
      if (this.#slabPos === this.#slab.length) {
        this.#flush();
        this.#slab = new Uint8Array(SLAB_BYTES);
        this.#slabPos = 0;
        this.#slabFlushed = 0;
      }
      const take = Math.min(left, this.#slab.length - this.#slabPos);
      this.#slab.set(buf.subarray(from, from + take), this.#slabPos);
      this.#slabPos += take;
      from += take;
      left -= take;
    }
  }

  #flush(): void {
    if (this.#slabPos > this.#slabFlushed) {
      this.#body?.push(this.#slab.subarray(this.#slabFlushed, this.#slabPos));
      this.#slabFlushed = this.#slabPos;
    }
  }

  #finishBody(): void {
    this.#flush();
    const body = this.#body;
    this.#body = undefined;
    this.#phase = 'done';
    body?.end();
    this.socket.setTimeout(0);
    if (!this.#keepAlive) {
      this.#close(netError('connection closed after the answer', 'ECONNRESET'));
      return;
    }
    this.#resume();
    this.#idleTimer = setTimeout(() => this.#close(netError('idle', 'ECONNRESET')), POOL_IDLE_MS);
    this.#idleTimer.unref();
    // An idle socket does not keep the process alive.
    this.socket.unref();
    this.#pool.release(this);
  }

  #resume(): void {
    if (!this.#paused || this.#dead) return;
    this.#paused = false;
    if (this.#phase !== 'done') this.socket.setTimeout(this.#pool.timeouts.idleMs);
    this.socket.resume();
  }

  #close(err: Error): void {
    if (this.#dead) return;
    this.#dead = true;
    clearTimeout(this.#idleTimer);
    this.socket.destroy();
    this.#answer?.reject(err);
    this.#answer = undefined;
    this.#body?.fail(err);
    this.#body = undefined;
    this.#pool.forget(this);
  }

  destroy(): void {
    this.#close(netError('the client was closed', 'ECONNRESET'));
  }
}

/** Keep-alive connections to one endpoint. */
export class RawHttpPool {
  readonly #endpoint: RawEndpoint;
  readonly timeouts: RawTimeouts;
  readonly #maxIdle: number;
  readonly #idle: Connection[] = [];
  readonly #all = new Set<Connection>();
  /** The read buffer of plain sockets: bytes are copied out of it before the next read. */
  readonly #readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  #closed = false;

  constructor(endpoint: RawEndpoint, timeouts: RawTimeouts, maxIdle: number) {
    this.#endpoint = endpoint;
    this.timeouts = timeouts;
    this.#maxIdle = maxIdle;
  }

  /**
   * Sends a GET with `headers` (names in lower case, no CR or LF anywhere) to `path` (already
   * encoded); resolves with the answer once its head is in. Network failures reject with an error
   * carrying a Node-style `code` (ECONNRESET, ECONNREFUSED...) or named TimeoutError.
   */
  async get(path: string, headers: Readonly<Record<string, string>>): Promise<RawAnswer> {
    if (this.#closed) throw netError('the client was closed', 'ECONNRESET');
    let head = `GET ${path} HTTP/1.1\r\n`;
    if (headers.host === undefined) {
      const { hostname, port } = this.#endpoint;
      head += `host: ${hostname.includes(':') ? `[${hostname}]` : hostname}:${port}\r\n`;
    }
    for (const [name, value] of Object.entries(headers)) {
      if (/[\r\n]/.test(name) || /[\r\n]/.test(value))
        throw netError(`header ${name}: line breaks refused`, 'ERR_INVALID_CHAR');
      head += `${name}: ${value}\r\n`;
    }
    head += '\r\n';
    const reused = this.#takeIdle();
    if (reused !== undefined) {
      try {
        return await reused.send(head, this.timeouts.requestMs);
      } catch (err) {
        // A kept-alive socket the server closed as we sent: once more on a new one (a GET is
        // safe to repeat; no answer had begun).
        if ((err as { code?: string }).code !== 'ECONNRESET' || !reused.dead) throw err;
      }
    }
    return (await this.#connect()).send(head, this.timeouts.requestMs);
  }

  #takeIdle(): Connection | undefined {
    for (;;) {
      const c = this.#idle.pop();
      if (c === undefined) return undefined;
      if (c.idle) return c;
    }
  }

  #connect(): Promise<Connection> {
    const { https, hostname, port, rejectUnauthorized } = this.#endpoint;
    return new Promise<Connection>((resolve, reject) => {
      let conn: Connection | undefined;
      const readBuffer = this.#readBuffer;
      const socket: Socket = https
        ? tlsConnect({
            host: hostname,
            port,
            rejectUnauthorized,
            ALPNProtocols: ['http/1.1'],
            ...(/^[\d.]+$|:/.test(hostname) ? {} : { servername: hostname }),
          })
        : netConnect({
            host: hostname,
            port,
            noDelay: true,
            onread: {
              buffer: readBuffer,
              callback: (nread: number) => (conn === undefined ? false : conn.feed(readBuffer, 0, nread)),
            },
          });
      if (https)
        socket.on('data', (chunk: Buffer) => conn?.feed(chunk, 0, chunk.length) === false && socket.pause());
      const timer = setTimeout(() => {
        socket.destroy();
        reject(timeoutError(`no connection within ${this.timeouts.connectMs} ms`));
      }, this.timeouts.connectMs);
      const onError = (err: Error) => {
        clearTimeout(timer);
        reject(err);
      };
      socket.once('error', onError);
      socket.once(https ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.off('error', onError);
        conn = new Connection(this, socket);
        this.#all.add(conn);
        resolve(conn);
      });
    });
  }

  /** @internal A connection whose answer is whole: kept for the next request. */
  release(conn: Connection): void {
    if (this.#closed || this.#idle.length >= this.#maxIdle) {
      conn.destroy();
      return;
    }
    this.#idle.push(conn);
  }

  /** @internal A connection that closed. */
  forget(conn: Connection): void {
    this.#all.delete(conn);
    const i = this.#idle.indexOf(conn);
    if (i >= 0) this.#idle.splice(i, 1);
  }

  /** Closes every connection. */
  close(): void {
    this.#closed = true;
    for (const c of [...this.#all]) c.destroy();
    this.#idle.length = 0;
  }
}
