/** GetObject, whole, from an offset or of a byte range, over the data-plane transport. */
import type { AnswerBody } from './answer-body.ts';
import { type ObjectAnswer, objectAnswer } from './object-answer.ts';
import type { S3Transport } from './transport.ts';

/** One GetObject. */
export interface GetObjectRequest {
  readonly key: string;
  /** This version of the key (`?versionId=`); undefined: the current one. `null` is the null version. */
  readonly versionId?: string;
  /** Quoted ETag the object must still have (`If-Match`). */
  readonly ifMatch?: string;
  /** From this byte (`Range: bytes=N-`, or `bytes=N-M` with `length`); 0 or undefined: from the start. */
  readonly offset?: number;
  /** This many bytes from `offset` (`Range: bytes=N-M`); undefined: to the end. */
  readonly length?: number;
  /** Ask for the object's checksums (`x-amz-checksum-mode: ENABLED`). */
  readonly checksums?: boolean;
}

/** Its answer: the headers as SDK fields, and the body (to be read to its end or destroyed). */
export interface GetObjectResult {
  readonly answer: ObjectAnswer;
  readonly body: AnswerBody;
}

/** The Range header of `req`, if it asks for less than the whole object. */
function range(req: GetObjectRequest): string | undefined {
  const from = req.offset ?? 0;
  if (req.length !== undefined) return `bytes=${from}-${from + req.length - 1}`;
  return from > 0 ? `bytes=${from}-` : undefined;
}

/** Sends `req`; resolves once the headers of a 2xx answer are in, else throws (S3ResponseError, network). */
export async function getObject(transport: S3Transport, req: GetObjectRequest): Promise<GetObjectResult> {
  const headers: Record<string, string> = {};
  if (req.ifMatch !== undefined) headers['if-match'] = req.ifMatch;
  const r = range(req);
  if (r !== undefined) headers.range = r;
  if (req.checksums === true) headers['x-amz-checksum-mode'] = 'ENABLED';
  const res = await transport.send({
    method: 'GET',
    key: req.key,
    headers,
    ...(req.versionId !== undefined ? { query: { versionId: req.versionId } } : {}),
  });
  return { answer: objectAnswer(res.headers), body: res.body };
}
