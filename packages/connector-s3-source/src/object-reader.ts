/**
 * Reading one object's body for a backup: streamed, pinned to the ETag seen by HeadObject
 * (`If-Match`), resumed with a Range request after a broken connection, its length checked, and its
 * MD5 checked against a plain-MD5 ETag while it streams.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { ConnectorError, isConnectorError } from '@kloset/connector-contract';
import {
  backoffDelay,
  describeTarget,
  nodeBody,
  type RetryPolicy,
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
  readonly size: number;
  /** The ETag as HeadObject returned it (quoted). */
  readonly etag?: string;
  /** Check the body's MD5 against the ETag. */
  readonly checkMd5: boolean;
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

/** Streams the body of `obj`: exactly `obj.size` bytes, or a ConnectorError. */
export async function* readObject(
  conn: S3Connection,
  obj: ObjectToRead,
  retry: RetryPolicy,
): AsyncGenerator<Uint8Array> {
  const { bucket, endpoint } = conn.settings.location;
  const ctx: S3OpContext = { op: 'GetObject', bucket, key: obj.key, endpoint };
  const hash = obj.checkMd5 ? createHash('md5') : undefined;
  let offset = 0;
  let failures = 0;
  const again = async (err: ConnectorError): Promise<void> => {
    if (!err.retryable || failures + 1 >= retry.attempts) throw err;
    await sleep(backoffDelay(retry, failures++));
  };
  while (offset < obj.size || (offset === 0 && obj.size === 0)) {
    let body: Readable;
    try {
      const out = await s3Call(ctx, () =>
        conn.client.send(
          new GetObjectCommand({
            Bucket: bucket,
            Key: obj.key,
            ...(obj.etag !== undefined ? { IfMatch: obj.etag } : {}),
            ...(offset > 0 ? { Range: `bytes=${offset}-` } : {}),
          }),
        ),
      );
      body = nodeBody(out.Body);
    } catch (err) {
      if (s3ErrorCode(err) === 'PreconditionFailed' && obj.etag !== undefined)
        throw changed(ctx, obj.etag, err);
      if (!isConnectorError(err)) throw err;
      await again(err);
      continue;
    }
    try {
      for await (const chunk of body) {
        const bytes = chunk as Buffer;
        if (offset + bytes.length > obj.size) {
          throw corrupt(ctx, `body longer than its size ${obj.size} (the object changed while being read?)`);
        }
        hash?.update(bytes);
        offset += bytes.length;
        yield bytes;
      }
      if (offset < obj.size)
        throw toConnectorError(Object.assign(new Error('body ended early'), { code: 'ECONNRESET' }), ctx);
      break;
    } catch (err) {
      if (isConnectorError(err, 'corrupt')) throw err;
      await again(toConnectorError(err, ctx));
    } finally {
      body.destroy();
    }
  }
  if (offset !== obj.size) throw corrupt(ctx, `got ${offset} bytes, expected ${obj.size}`);
  if (hash && obj.etag !== undefined) {
    const md5 = hash.digest('hex');
    const expected = unquoteEtag(obj.etag).toLowerCase();
    if (md5 !== expected) throw corrupt(ctx, `MD5 of the body ${md5} does not match its ETag ${expected}`);
  }
}
