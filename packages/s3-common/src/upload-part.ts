/** UploadPart of a body in memory, over the data-plane transport, checked by Content-MD5 as PutObject is. */
import { drain } from './put-object.ts';
import type { S3Transport } from './transport.ts';

/** One UploadPart of a multipart upload. */
export interface UploadPartRequest {
  readonly key: string;
  readonly uploadId: string;
  readonly partNumber: number;
  readonly body: Uint8Array;
  /** Base64 MD5 of the body (Content-MD5). */
  readonly md5: string;
  readonly signal?: AbortSignal | undefined;
}

/** Resolves with the part's ETag once the server has it, else throws (S3ResponseError, network, abort). */
export async function uploadPart(
  transport: S3Transport,
  req: UploadPartRequest,
): Promise<string | undefined> {
  const res = await transport.send({
    method: 'PUT',
    key: req.key,
    query: { partNumber: String(req.partNumber), uploadId: req.uploadId },
    headers: { 'content-md5': req.md5 },
    body: req.body,
    signal: req.signal,
  });
  await drain(res.body);
  const etag = res.headers.etag;
  return typeof etag === 'string' ? etag : undefined;
}
