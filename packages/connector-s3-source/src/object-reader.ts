/**
 * Reading one object's body for a backup: streamed (GetObject on the undici transport, s3-common get-object.ts),
 * pinned to the ETag seen (`If-Match`), resumed with a Range request after a broken connection, its
 * length checked, and its MD5 checked against a plain-MD5 ETag while it streams (else its
 * full-object checksum, when it has one). `openObject` hands back the first GetObject's answer (the
 * same headers HeadObject gives) before the body is read.
 */
import { createHash } from 'node:crypto';
import { ConnectorError, isConnectorError } from '@kloset/connector-contract';
import {
  type AnswerBody,
  type BodyChecksum,
  backoffDelay,
  describeTarget,
  etagIsBodyMd5,
  type GetObjectResult,
  type ObjectAnswer,
  type RetryPolicy,
  responseChecksum,
  type S3Connection,
  type S3OpContext,
  s3Call,
  s3ErrorCode,
  sleep,
  toConnectorError,
  unquoteEtag,
} from '@kloset/s3-common';

/** What to read. */
export interface ObjectToRead {
  readonly key: string;
  /** This version of the key (`null`: the null version); undefined: the current one. */
  readonly versionId?: string;
  readonly size: number;
  /** The ETag as listed or as HeadObject returned it (quoted): every GetObject is pinned to it. */
  readonly etag?: string;
  /** Check the body's MD5 against the ETag. Undefined: decided from the first GetObject's answer. */
  readonly checkMd5?: boolean;
}

/** An opened object: the first GetObject's answer (headers only) and the whole body. */
export interface OpenedObject {
  readonly answer: ObjectAnswer;
  /** Exactly `size` bytes, resumed after broken connections, checked; or a ConnectorError. */
  readonly body: AsyncGenerator<Uint8Array>;
  /** Frees the connection of a body that will not be read. */
  discard(): void;
}

function changed(ctx: S3OpContext, etag: string, cause: unknown): ConnectorError {
  return new ConnectorError(
    'not_found',
    `S3 GetObject on ${describeTarget(ctx.bucket, ctx.key)}: the object changed since it was listed (ETag is no longer ${etag})`,
    { op: ctx.op, container: ctx.bucket, key: ctx.key, endpoint: ctx.endpoint },
    { cause },
  );
}

function corrupt(ctx: S3OpContext, why: string): ConnectorError {
  return new ConnectorError('corrupt', `S3 GetObject on ${describeTarget(ctx.bucket, ctx.key)}: ${why}`, {
    op: ctx.op,
    container: ctx.bucket,
    key: ctx.key,
    endpoint: ctx.endpoint,
  });
}

/** GetObject requests of one object, from `offset` on, with retries of retryable failures. */
class ObjectGetter {
  readonly #conn: S3Connection;
  readonly #obj: ObjectToRead;
  readonly #retry: RetryPolicy;
  readonly ctx: S3OpContext;
  #failures = 0;

  constructor(conn: S3Connection, obj: ObjectToRead, retry: RetryPolicy) {
    const { bucket, endpoint } = conn.settings.location;
    this.#conn = conn;
    this.#obj = obj;
    this.#retry = retry;
    const key = obj.versionId !== undefined ? `${obj.key} (version ${obj.versionId})` : obj.key;
    this.ctx = { op: 'GetObject', bucket, key, endpoint };
  }

  /** Waits before the next attempt, or throws `err` when it is final. */
  async again(err: ConnectorError): Promise<void> {
    if (!err.retryable || this.#failures + 1 >= this.#retry.attempts) throw err;
    await sleep(backoffDelay(this.#retry, this.#failures++));
  }

  /** The answer of a GetObject from `offset` (the whole object, with its checksums, from 0). */
  async get(offset: number): Promise<GetObjectResult> {
    const { key, etag, versionId } = this.#obj;
    for (;;) {
      try {
        return await s3Call(this.ctx, () =>
          this.#conn.getObject({
            key,
            ...(versionId !== undefined ? { versionId } : {}),
            ...(etag !== undefined ? { ifMatch: etag } : {}),
            ...(offset > 0 ? { offset } : { checksums: true }),
          }),
        );
      } catch (err) {
        if (s3ErrorCode(err) === 'PreconditionFailed' && etag !== undefined)
          throw changed(this.ctx, etag, err);
        if (!isConnectorError(err)) throw err;
        await this.again(err);
      }
    }
  }
}

/**
 * Sends the first GetObject of `obj` and resolves with its answer once the headers are in; the
 * body then streams exactly `obj.size` bytes, or throws a ConnectorError. The caller reads the body
 * (to its end, or stops early) or discards it: either frees the connection.
 */
export async function openObject(
  conn: S3Connection,
  obj: ObjectToRead,
  retry: RetryPolicy,
): Promise<OpenedObject> {
  const getter = new ObjectGetter(conn, obj, retry);
  const { answer, body: first } = await getter.get(0);
  const checkMd5 = obj.checkMd5 ?? etagIsBodyMd5(answer);
  const etag = obj.etag ?? answer.ETag;
  // One check of the body is enough: its MD5 when the ETag is one, else its full-object checksum.
  const md5Etag = checkMd5 ? etag : undefined;
  const checksum = md5Etag === undefined ? responseChecksum(answer) : undefined;
  return {
    answer,
    body: streamBody(getter, obj, first, md5Etag, checksum),
    discard: () => first.destroy(),
  };
}

/** Streams the body of `obj`: exactly `obj.size` bytes, or a ConnectorError (opened when first read). */
export async function* readObject(
  conn: S3Connection,
  obj: ObjectToRead,
  retry: RetryPolicy,
): AsyncGenerator<Uint8Array> {
  yield* (await openObject(conn, obj, retry)).body;
}

/**
 * The body of `first` (offset 0), resumed with ranged GetObjects; its MD5 checked against
 * `md5Etag`, or its `checksum` (of the first answer) checked.
 */
async function* streamBody(
  getter: ObjectGetter,
  obj: ObjectToRead,
  first: AnswerBody,
  md5Etag: string | undefined,
  checksum: BodyChecksum | undefined,
): AsyncGenerator<Uint8Array> {
  const { ctx } = getter;
  // On this thread: an MD5 worker measured no faster on wall time (tools/bench/README.md).
  const hash = md5Etag !== undefined ? createHash('md5') : undefined;
  let offset = 0;
  let body: AnswerBody | undefined = first;
  for (;;) {
    body ??= (await getter.get(offset)).body;
    try {
      for await (const bytes of body) {
        if (offset + bytes.length > obj.size) {
          throw corrupt(ctx, `body longer than its size ${obj.size} (the object changed while being read?)`);
        }
        hash?.update(bytes);
        checksum?.update(bytes);
        offset += bytes.length;
        yield bytes;
      }
      if (offset < obj.size)
        throw toConnectorError(Object.assign(new Error('body ended early'), { code: 'ECONNRESET' }), ctx);
      break;
    } catch (err) {
      if (isConnectorError(err, 'corrupt')) throw err;
      await getter.again(toConnectorError(err, ctx));
    } finally {
      body.destroy();
      body = undefined;
    }
  }
  if (offset !== obj.size) throw corrupt(ctx, `got ${offset} bytes, expected ${obj.size}`);
  if (hash && md5Etag !== undefined) {
    const md5 = hash.digest('hex');
    const expected = unquoteEtag(md5Etag).toLowerCase();
    if (md5 !== expected) throw corrupt(ctx, `MD5 of the body ${md5} does not match its ETag ${expected}`);
  }
  if (checksum) {
    const actual = await checksum.digest();
    if (actual !== checksum.expected) {
      throw corrupt(
        ctx,
        `${checksum.algorithm} of the body ${actual} does not match its checksum ${checksum.expected}`,
      );
    }
  }
}
