/**
 * The task of a crypto worker thread (a piscina worker, see crypto-pool.ts): runs CPU-heavy steps
 * off the main thread: for reads, decrypt, decompress and verify; for writes, the compression of
 * small payloads (whose zstd set-up costs the main thread more than the compression itself).
 * Buffers move between threads by transfer, never by copy. A task that throws rejects its call.
 */
import { Piscina } from 'piscina';
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
  return { reply: { op: 'open', buffer: req.buffer, results }, transfer };
}

function compress(req: CompressRequest): Out {
  const data = new Uint8Array(req.buffer, req.byteOffset, req.byteLength);
  const encoded = compressIfPays(data, 'zstd', { level: req.level });
  if (encoded.codec === CompressionCodec.None) {
    return { reply: { op: 'compress', codec: CompressionCodec.None }, transfer: [] };
  }
  const body = ownBuffer(encoded.body).buffer; // the whole buffer is the body
  return { reply: { op: 'compress', codec: encoded.codec, body }, transfer: [body] };
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

/** Runs one task; its reply goes back with its buffers transferred (piscina's movable object). */
export default function handle(req: WorkerRequest): WorkerReply {
  const out = req.op === 'open' ? open(req) : compress(req);
  const movable = {
    get [Piscina.transferableSymbol]() {
      return out.transfer;
    },
    get [Piscina.valueSymbol]() {
      return out.reply;
    },
  };
  // Piscina.move marks it as movable; its declared types cover single buffers only.
  return Piscina.move(movable as unknown as ArrayBuffer) as unknown as WorkerReply;
}
