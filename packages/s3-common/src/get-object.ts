/**
 * GetObject over plain node:http(s) (plain-request.ts) for the S3 source's object bodies, with the
 * answer's headers as the SDK's fields; through the SDK when the endpoint is not plain SigV4.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { nodeBody } from './body.ts';
import { type ObjectAnswer, objectAnswer } from './object-answer.ts';
import type { AnswerBody, PlainS3Requests } from './plain-request.ts';
import type { S3Settings } from './settings.ts';

/** One GetObject. */
export interface GetObjectRequest {
  readonly key: string;
  /** Quoted ETag the object must still have (`If-Match`). */
  readonly ifMatch?: string;
  /** From this byte to the end (`Range: bytes=N-`); 0 or undefined: the whole object. */
  readonly offset?: number;
  /** Ask for the object's checksums (`x-amz-checksum-mode: ENABLED`). */
  readonly checksums?: boolean;
}

/** Its answer: the headers as SDK fields, and the body (to be read to its end or destroyed). */
export interface GetObjectResult {
  readonly answer: ObjectAnswer;
  readonly body: AnswerBody;
}

/** Sends the GetObjects of one connection. */
export class GetObjectSender {
  readonly #client: S3Client;
  readonly #settings: S3Settings;
  readonly #plain: PlainS3Requests;

  constructor(client: S3Client, settings: S3Settings, plain: PlainS3Requests) {
    this.#client = client;
    this.#settings = settings;
    this.#plain = plain;
  }

  /** Sends `req`; resolves once the headers of a 2xx answer are in, else throws (S3ResponseError, network). */
  async send(req: GetObjectRequest): Promise<GetObjectResult> {
    if (!(await this.#plain.usable())) return this.#sendWithSdk(req);
    const headers: Record<string, string> = {};
    if (req.ifMatch !== undefined) headers['if-match'] = req.ifMatch;
    if (req.offset !== undefined && req.offset > 0) headers.range = `bytes=${req.offset}-`;
    if (req.checksums === true) headers['x-amz-checksum-mode'] = 'ENABLED';
    const res = await this.#plain.send({ method: 'GET', key: req.key, headers });
    return { answer: objectAnswer(res.headers), body: res.body };
  }

  async #sendWithSdk(req: GetObjectRequest): Promise<GetObjectResult> {
    const { Body, ...answer } = await this.#client.send(
      new GetObjectCommand({
        Bucket: this.#settings.location.bucket,
        Key: req.key,
        ...(req.ifMatch !== undefined ? { IfMatch: req.ifMatch } : {}),
        ...(req.offset !== undefined && req.offset > 0 ? { Range: `bytes=${req.offset}-` } : {}),
        ...(req.checksums === true ? { ChecksumMode: 'ENABLED' } : {}),
      }),
    );
    return { answer, body: nodeBody(Body) };
  }
}
