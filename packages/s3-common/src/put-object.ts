/**
 * PutObject and UploadPart of a buffered body over plain node:http(s) (plain-request.ts): signed
 * `UNSIGNED-PAYLOAD` under the body's Content-MD5, which the server checks (BadDigest). Through the
 * SDK when the endpoint is not plain SigV4. A restore of 4,182 objects into a bucket spent ~2 s of
 * its CPU in the SDK's per-request work (middleware, signing, serialization).
 */

import { PutObjectCommand, type S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { type ObjectHeaders, sdkHeaderParams, wireHeaders } from './object-headers.ts';
import type { AnswerBody, PlainS3Requests } from './plain-request.ts';
import type { S3Settings } from './settings.ts';

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

/** Reads an answer's body to its end (so that its socket goes back to the pool). */
async function drain(body: AnswerBody): Promise<void> {
  for await (const _ of body);
}

/** Sends the PutObjects and UploadParts of one connection. */
export class ObjectPutter {
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #plain: PlainS3Requests;

  constructor(client: S3Client, settings: S3Settings, plain: PlainS3Requests) {
    this.#client = client;
    this.#bucket = settings.location.bucket;
    this.#plain = plain;
  }

  /** Resolves once the server has the object, else throws (S3ResponseError, network, abort). */
  async putObject(req: PutObjectRequest): Promise<void> {
    if (!(await this.#plain.usable())) {
      await this.#client.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: req.key,
          Body: req.body,
          ContentLength: req.body.length,
          ContentMD5: req.md5,
          ...(req.ifNoneMatch ? { IfNoneMatch: '*' } : {}),
          ...sdkHeaderParams(req.headers),
        }),
        { abortSignal: req.signal },
      );
      return;
    }
    const headers = wireHeaders(req.headers);
    headers['content-md5'] = req.md5;
    if (req.ifNoneMatch) headers['if-none-match'] = '*';
    const res = await this.#plain.send({
      method: 'PUT',
      key: req.key,
      headers,
      body: req.body,
      signal: req.signal,
    });
    await drain(res.body);
  }

  /** Resolves with the part's ETag once the server has it. */
  async uploadPart(req: UploadPartRequest): Promise<string | undefined> {
    if (!(await this.#plain.usable())) {
      const out = await this.#client.send(
        new UploadPartCommand({
          Bucket: this.#bucket,
          Key: req.key,
          UploadId: req.uploadId,
          PartNumber: req.partNumber,
          Body: req.body,
          ContentLength: req.body.length,
          ContentMD5: req.md5,
        }),
        { abortSignal: req.signal },
      );
      return out.ETag;
    }
    const res = await this.#plain.send({
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
}
