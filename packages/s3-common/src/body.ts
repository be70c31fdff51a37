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

/** Reads a whole body into one buffer. */
export async function readBody(body: unknown): Promise<Uint8Array> {
  const stream = nodeBody(body);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}
