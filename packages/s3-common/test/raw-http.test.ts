/** raw-http.ts against local HTTP servers: framing, keep-alive, back-pressure, failures. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as createTcpServer, type Socket, type Server as TcpServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type RawAnswer, RawHttpPool } from '../src/raw-http.ts';

const TIMEOUTS = { connectMs: 2000, requestMs: 2000, idleMs: 2000 };
const servers: (Server | TcpServer)[] = [];
const pools: RawHttpPool[] = [];
const tcpSockets = new Set<Socket>();

afterEach(async () => {
  for (const p of pools.splice(0)) p.close();
  for (const s of tcpSockets) s.destroy();
  tcpSockets.clear();
  for (const s of servers.splice(0)) {
    if ('closeAllConnections' in s) s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/** A raw TCP server: `onSocket` gets each connection (destroyed after the test). */
async function tcpServer(onSocket: (s: Socket) => void): Promise<number> {
  const server = createTcpServer((s) => {
    tcpSockets.add(s);
    s.on('error', () => undefined);
    onSocket(s);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

function bytes(n: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<number> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

function pool(port: number): RawHttpPool {
  const p = new RawHttpPool(
    { https: false, hostname: '127.0.0.1', port, rejectUnauthorized: true },
    TIMEOUTS,
    4,
  );
  pools.push(p);
  return p;
}

async function read(a: RawAnswer): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const p of a.body) parts.push(p);
  return Buffer.concat(parts);
}

describe('RawHttpPool', () => {
  it('reads Content-Length and chunked bodies, headers in lower case, on one kept-alive socket', async () => {
    const big = bytes(3 * 1024 * 1024 + 5, 1);
    const sockets = new Set<unknown>();
    const port = await serve((req, res) => {
      sockets.add(req.socket);
      if (req.url === '/chunked') {
        res.writeHead(200, { 'X-Amz-Meta-A': 'b' });
        res.write(big.subarray(0, 1000));
        res.end(big.subarray(1000));
        return;
      }
      res.writeHead(req.url === '/empty' ? 204 : 200, {
        'Content-Length': req.url === '/empty' ? 0 : big.length,
      });
      res.end(req.url === '/empty' ? undefined : big);
    });
    const p = pool(port);
    for (const path of ['/len', '/chunked', '/empty', '/len']) {
      const a = await p.get(path, { host: `127.0.0.1:${port}` });
      const body = await read(a);
      if (path === '/empty') expect(body.length).toBe(0);
      else expect(Buffer.compare(body, big), path).toBe(0);
      if (path === '/chunked') {
        expect(a.headers['x-amz-meta-a']).toBe('b');
        expect(a.headers['transfer-encoding']).toBe('chunked');
      }
    }
    expect(sockets.size).toBe(1);
  });

  it('a body read slowly is whole (the socket pauses), one dropped early closes its socket', async () => {
    const big = bytes(8 * 1024 * 1024, 2);
    const sockets = new Set<unknown>();
    const port = await serve((req, res) => {
      sockets.add(req.socket);
      res.writeHead(200, { 'Content-Length': big.length });
      res.end(big);
    });
    const p = pool(port);
    const a = await p.get('/', {});
    const parts: Uint8Array[] = [];
    for await (const part of a.body) {
      parts.push(part);
      await new Promise((r) => setTimeout(r, 1));
    }
    expect(Buffer.compare(Buffer.concat(parts), big)).toBe(0);
    const b = await p.get('/', {});
    for await (const _ of b.body) break;
    const c = await p.get('/', {});
    expect(Buffer.compare(await read(c), big)).toBe(0);
    expect(sockets.size).toBe(2);
  });

  it('a body cut by the server fails with ECONNRESET; a body until close is whole', async () => {
    const port = await tcpServer((s) => {
      s.once('data', (d) => {
        const cut = d.toString().startsWith('GET /cut');
        if (cut) s.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789');
        else s.end('HTTP/1.0 200 OK\r\n\r\nall of it');
      });
    });
    const p = pool(port);
    const cut = await p.get('/cut', {});
    const err = await read(cut).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('ECONNRESET');
    expect((await read(await p.get('/close', {}))).toString()).toBe('all of it');
  });

  it('a reader slower than the idle timeout keeps its body (paused by the reader, not the server)', async () => {
    const big = bytes(4 * 1024 * 1024, 3);
    const port = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Length': big.length });
      res.end(big);
    });
    const p = new RawHttpPool(
      { https: false, hostname: '127.0.0.1', port, rejectUnauthorized: true },
      { connectMs: 1000, requestMs: 1000, idleMs: 200 },
      4,
    );
    pools.push(p);
    const a = await p.get('/', {});
    const parts: Uint8Array[] = [];
    for await (const part of a.body) {
      if (parts.length === 0) await new Promise((r) => setTimeout(r, 500));
      parts.push(part);
    }
    expect(Buffer.compare(Buffer.concat(parts), big)).toBe(0);
  });

  it('204 has no body; garbled chunked framing fails as a retryable framing error', async () => {
    const port = await tcpServer((s) => {
      s.on('data', (d) => {
        if (d.toString().startsWith('GET /204')) s.write('HTTP/1.1 204 No Content\r\n\r\n');
        else s.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n');
      });
    });
    const p = pool(port);
    const empty = await p.get('/204', {});
    expect((await read(empty)).length).toBe(0);
    const garbled = await p.get('/bad', {});
    await expect(read(garbled)).rejects.toMatchObject({ code: 'HPE_INVALID_FRAMING' });
  });

  it('refused, silent and timed-out servers fail with their code or as TimeoutError', async () => {
    const closed = pool(9);
    await expect(closed.get('/', {})).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const silent = await tcpServer(() => undefined);
    const p = new RawHttpPool(
      { https: false, hostname: '127.0.0.1', port: silent, rejectUnauthorized: true },
      { connectMs: 1000, requestMs: 200, idleMs: 1000 },
      4,
    );
    pools.push(p);
    await expect(p.get('/', {})).rejects.toMatchObject({ name: 'TimeoutError' });
    await expect(p.get('/', { a: 'x\r\nInjected: 1' })).rejects.toMatchObject({ code: 'ERR_INVALID_CHAR' });
  });
});
