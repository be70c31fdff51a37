/**
 * The entry of a crypto worker thread: runs the CPU-heavy steps of reads (decrypt, decompress,
 * verify) off the main thread. Requests come in batches; each reply names the request it answers.
 * Buffers move between threads by transfer, never by copy.
 */
import { parentPort } from 'node:worker_threads';
import type { WorkerReply, WorkerRequest } from './messages.ts';
import { openBlobsInPlace } from './open-blobs.ts';

function handle(req: WorkerRequest): { reply: WorkerReply; transfer: ArrayBuffer[] } {
  const bytes = new Uint8Array(req.buffer, req.byteOffset, req.byteLength);
  const outcomes = openBlobsInPlace(bytes, req.open);
  const transfer: ArrayBuffer[] = [req.buffer];
  const results = outcomes.map((o) => {
    if (!o.ok) return { ok: false as const, reason: o.reason };
    if (o.data.buffer === req.buffer) {
      return { ok: true as const, inBuffer: true as const, start: o.data.byteOffset, length: o.data.length };
    }
    // A decompressed payload: its own array (a copy if it shares an ArrayBuffer, e.g. Node's pool).
    const own =
      o.data.byteOffset === 0 && o.data.byteLength === o.data.buffer.byteLength ? o.data : o.data.slice();
    const buffer = own.buffer as ArrayBuffer;
    if (!transfer.includes(buffer)) transfer.push(buffer);
    return { ok: true as const, inBuffer: false as const, buffer, start: own.byteOffset, length: own.length };
  });
  return { reply: { id: req.id, buffer: req.buffer, results }, transfer };
}

const port = parentPort;
if (port === null) throw new Error('crypto-worker.ts runs only as a worker thread');
port.on('message', (batch: WorkerRequest[]) => {
  for (const req of batch) {
    let out: { reply: WorkerReply; transfer: ArrayBuffer[] };
    try {
      out = handle(req);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      out = { reply: { id: req.id, buffer: req.buffer, error: reason }, transfer: [req.buffer] };
    }
    port.postMessage(out.reply, out.transfer);
  }
});
