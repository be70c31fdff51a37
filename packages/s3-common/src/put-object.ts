/**
 * PutObject of a body in memory, over the data-plane transport: signed `UNSIGNED-PAYLOAD` under
 * the body's Content-MD5, which the server checks (BadDigest): the body stays checked end to end
 * without a SHA-256 pass over it on each side.
 */
import type { AnswerBody } from './answer-body.ts';
import { type ObjectHeaders, wireHeaders } from './object-headers.ts';
import type { S3Transport } from './transport.ts';

/** One PutObject of a body in memory. */
export interface PutObjectRequest {
  readonly key: string;
  readonly body: Uint8Array;
  /** Base64 MD5 of the body (Content-MD5). */
  readonly md5: string;
  readonly headers?: ObjectHeaders;
  /** Create-only (`If-None-Match: *`). */
  readonly ifNoneMatch?: boolean;
  readonly signal?: AbortSignal | undefined;
}

/** Reads an answer's body to its end (so that its connection goes back to the pool). */
export async function drain(body: AnswerBody): Promise<void> {
  for await (const _ of body);
}

/** Resolves once the server has the object, else throws (S3ResponseError, network, abort). */
export async function putObject(transport: S3Transport, req: PutObjectRequest): Promise<void> {
  const headers = wireHeaders(req.headers);
  headers['content-md5'] = req.md5;
  if (req.ifNoneMatch) headers['if-none-match'] = '*';
  const res = await transport.send({
    method: 'PUT',
    key: req.key,
    headers,
    body: req.body,
    signal: req.signal,
  });
  await drain(res.body);
}
