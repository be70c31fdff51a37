/** Response bodies of GetObject as Node streams. */
import { Readable } from 'node:stream';

/**
 * The Node stream of a GetObject body (the SDK's Node runtime gives an IncomingMessage). Throws for
 * anything else: these connectors run on Node only.
 */
export function nodeBody(body: unknown): Readable {
  if (body instanceof Readable) return body;
  if (body === undefined) return Readable.from([]);
  throw new TypeError('S3 response body is not a Node stream (these connectors need the Node runtime)');
}

function isAsyncIterable(body: unknown): body is AsyncIterable<unknown> {
  return typeof body === 'object' && body !== null && Symbol.asyncIterator in body;
}

/**
 * Reads a whole body into one buffer: the start of `into` when the body fits in it (a reader's
 * reusable buffer, see ByteRange.into), else a new one.
 */
export async function readBody(body: unknown, into?: Uint8Array): Promise<Uint8Array> {
  const stream: AsyncIterable<unknown> = isAsyncIterable(body) ? body : nodeBody(body);
  const chunks: Uint8Array[] = [];
  let filled = 0;
  for await (const chunk of stream) {
    const c = chunk as Uint8Array;
    if (into !== undefined && chunks.length === 0 && filled + c.length <= into.length) {
      into.set(c, filled);
      filled += c.length;
    } else chunks.push(c);
  }
  if (into !== undefined && filled > 0) {
    // Longer than `into`: what did not fit follows in a new buffer with the start.
    return chunks.length === 0
      ? into.subarray(0, filled)
      : Buffer.concat([into.subarray(0, filled), ...chunks]);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}
