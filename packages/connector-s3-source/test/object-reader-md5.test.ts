import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { ConnectorError } from '@kloset/connector-contract';
import { type BodyMd5, Md5Offload, type S3Connection } from '@kloset/s3-common';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openObject } from '../src/object-reader.ts';

// The MD5 check's own failures, with a stand-in connection serving one object from memory in
// two pieces (the S3 behaviour of GetObject is tested against RGW in s3-source.test.ts).
const data = Buffer.alloc(200_000, 7);
const etag = `"${createHash('md5').update(data).digest('hex')}"`;
const retry = { attempts: 6, baseDelayMs: 50, maxDelayMs: 1000 };

function fakeConnection(): { conn: S3Connection; gets: () => number } {
  let gets = 0;
  const conn = {
    settings: { location: { bucket: 'bucket-a', endpoint: 'http://s3.invalid' } },
    getObject: async ({ offset }: { offset?: number }) => {
      gets++;
      const slice = data.subarray(offset ?? 0);
      return {
        answer: { ETag: etag, ContentLength: slice.length },
        body: Readable.from([slice.subarray(0, 100_000), slice.subarray(100_000)]),
      };
    },
  } as unknown as S3Connection;
  return { conn, gets: () => gets };
}

describe('the MD5 check of an S3 body', () => {
  const offloads: Md5Offload[] = [];
  const ownWorker = (): Md5Offload => {
    const offload = Md5Offload.start();
    if (offload === undefined) throw new Error('the MD5 worker did not start');
    offloads.push(offload);
    return offload;
  };
  afterEach(async () => {
    vi.restoreAllMocks();
    await Promise.all(offloads.splice(0).map((o) => o.close()));
  });

  it('a worker that dies mid-body fails that body once, naming the object, without re-reading it', async () => {
    const offload = ownWorker();
    vi.spyOn(Md5Offload, 'body').mockImplementation(() => offload.body());
    const { conn, gets } = fakeConnection();
    const { body } = await openObject(
      conn,
      { key: 'dir/file.bin', size: data.length, etag, checkMd5: true },
      retry,
    );
    const read = (async () => {
      let first = true;
      for await (const _ of body) {
        if (first) {
          first = false;
          await offload.close();
        }
      }
    })();
    const err = await read.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConnectorError);
    expect((err as ConnectorError).message).toMatch(
      /bucket "bucket-a" key "dir\/file\.bin": the MD5 check of the body failed: MD5 worker failed/,
    );
    expect(gets()).toBe(1);
  });

  it('a body read to its end and checked passes; one whose reader stops at the last byte is dropped', async () => {
    const offload = ownWorker();
    const made: BodyMd5[] = [];
    vi.spyOn(Md5Offload, 'body').mockImplementation(() => {
      const b = offload.body();
      made.push(b);
      return b;
    });
    const { conn } = fakeConnection();
    const whole = await openObject(conn, { key: 'k1', size: data.length, etag, checkMd5: true }, retry);
    let n = 0;
    for await (const piece of whole.body) n += piece.length;
    expect(n).toBe(data.length);

    const stopped = await openObject(conn, { key: 'k2', size: data.length, etag, checkMd5: true }, retry);
    let drop: ReturnType<typeof vi.spyOn> | undefined;
    let got = 0;
    for await (const piece of stopped.body) {
      drop ??= vi.spyOn(made[1]!, 'drop');
      got += piece.length;
      if (got === data.length) break; // the consumer stops at the last piece, before the check
    }
    expect(drop).toHaveBeenCalled();
  });
});
