/**
 * The entry of a crypto worker thread: runs CPU-heavy steps off the main thread: for reads,
 * decrypt, decompress and verify; for writes, the compression of small payloads (whose zstd set-up
 * costs the main thread more than the compression itself). Requests come in batches; each reply
 * names the request it answers. Buffers move between threads by transfer, never by copy.
 */
import { parentPort } from 'node:worker_threads';
import { CompressionCodec, compressIfPays } from '../crypto/compression.ts';
import type { CompressRequest, OpenRequest, WorkerReply, WorkerRequest } from './messages.ts';
import { openBlobsInPlace } from './open-blobs.ts';

interface Out {
  readonly reply: WorkerReply;
  readonly transfer: ArrayBuffer[];
}

function open(req: OpenRequest): Out {
  const bytes = new Uint8Array(req.buffer, req.byteOffset, req.byteLength);
  const outcomes = openBlobsInPlace(bytes, req.open);
  const transfer: ArrayBuffer[] = [req.buffer];
  const results = outcomes.map((o) => {
    if (!o.ok) return { ok: false as const, reason: o.reason };
    if (o.data.buffer === req.buffer) {
      return { ok: true as const, inBuffer: true as const, start: o.data.byteOffset, length: o.data.length };
    }
    const own = ownBuffer(o.data);
    if (!transfer.includes(own.buffer)) transfer.push(own.buffer);
    return {
      ok: true as const,
      inBuffer: false as const,
      buffer: own.buffer,
      start: own.start,
      length: own.length,
    };
  });
  return { reply: { op: 'open', id: req.id, buffer: req.buffer, results }, transfer };
}

function compress(req: CompressRequest): Out {
  const data = new Uint8Array(req.buffer, req.byteOffset, req.byteLength);
  const encoded = compressIfPays(data, 'zstd', { level: req.level });
  if (encoded.codec === CompressionCodec.None) {
    return { reply: { op: 'compress', id: req.id, codec: CompressionCodec.None }, transfer: [] };
  }
  const body = ownBuffer(encoded.body).buffer; // the whole buffer is the body
  return { reply: { op: 'compress', id: req.id, codec: encoded.codec, body }, transfer: [body] };
}

/**
 * `data` in a buffer of its own, to transfer: its own buffer when `data` spans it (or all of it
 * but the last byte: a plaintext decompressed into a buffer of its exact length plus one), else a
 * copy (it shares one, e.g. Node's pool; Uint8Array's slice copies, also for a Buffer, whose
 * slice is a view). A buffer of Node's pool is never at most one byte longer than what it holds.
 */
function ownBuffer(data: Uint8Array): { buffer: ArrayBuffer; start: number; length: number } {
  const whole = data.byteOffset === 0 && data.buffer.byteLength - data.byteLength <= 1;
  const own = whole ? data : Uint8Array.prototype.slice.call(data);
  return { buffer: own.buffer as ArrayBuffer, start: 0, length: own.length };
}

function handle(req: WorkerRequest): Out {
  return req.op === 'open' ? open(req) : compress(req);
}

const port = parentPort;
if (port === null) throw new Error('crypto-worker.ts runs only as a worker thread');
port.on('message', (batch: WorkerRequest[]) => {
  for (const req of batch) {
    let out: Out;
    try {
      out = handle(req);
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      out = { reply: { op: 'error', id: req.id, error }, transfer: [] };
    }
    port.postMessage(out.reply, out.transfer);
  }
});
