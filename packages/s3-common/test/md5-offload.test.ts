import { createHash, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { BATCH_BYTES, type BodyMd5, MAX_BATCHES, Md5Offload } from '../src/md5-offload.ts';

const md5 = (parts: Uint8Array[]): string => {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};

async function feed(body: BodyMd5, parts: Uint8Array[]): Promise<void> {
  for (const p of parts) {
    const room = body.update(p);
    if (room !== undefined) await room;
  }
}

describe('Md5Offload', () => {
  const started: Md5Offload[] = [];
  const start = (): Md5Offload => {
    const offload = Md5Offload.start();
    if (offload === undefined) throw new Error('the MD5 worker did not start');
    started.push(offload);
    return offload;
  };
  afterEach(async () => {
    await Promise.all(started.splice(0).map((o) => o.close()));
  });

  it('gives the MD5 of each body, bodies interleaved, pieces of every size', async () => {
    const offload = start();
    const bodies = Array.from({ length: 12 }, (_, b) =>
      Array.from({ length: 1 + (b % 5) * 7 }, (_, i) =>
        randomBytes([0, 1, 17, 4096, 65_536, 300_001][(b + i) % 6]!),
      ),
    );
    const results = await Promise.all(
      bodies.map(async (parts) => {
        const body = offload.body();
        await feed(body, parts);
        return body.digest();
      }),
    );
    expect(results).toEqual(bodies.map(md5));
  });

  it('waits for room when more than MAX_BATCHES batches are out, and still gets every byte', async () => {
    const offload = start();
    // Pieces larger than a batch, more bytes than all the batches hold at once, six bodies at once.
    const bodies = Array.from({ length: 6 }, () => [
      randomBytes(BATCH_BYTES + 123),
      randomBytes(Math.ceil(((MAX_BATCHES + 1) * BATCH_BYTES) / 6)),
      randomBytes(5),
    ]);
    let waited = 0;
    const results = await Promise.all(
      bodies.map(async (parts) => {
        const body = offload.body();
        for (const p of parts) {
          const room = body.update(p);
          if (room !== undefined) {
            waited++;
            await room;
          }
        }
        return body.digest();
      }),
    );
    expect(results).toEqual(bodies.map(md5));
    expect(waited).toBeGreaterThan(0);
  });

  it('a digest or drop asked while an update waits for room comes after that update', async () => {
    const offload = start();
    const filler = offload.body();
    expect(filler.update(randomBytes(BATCH_BYTES * MAX_BATCHES))).toBeUndefined(); // every batch out
    const waiting = offload.body();
    const bytes = Buffer.from('waits for room');
    const room = waiting.update(bytes);
    expect(room).toBeInstanceOf(Promise);
    expect(() => waiting.update(Buffer.from('too soon'))).toThrow(/previous one/);
    const digest = waiting.digest(); // not awaiting the room first
    const dropped = offload.body();
    dropped.update(Buffer.from('x'));
    filler.drop();
    await room;
    expect(await digest).toBe(md5([bytes]));
    dropped.drop();
    const after = offload.body();
    after.update(Buffer.from('after'));
    expect(await after.digest()).toBe(md5([Buffer.from('after')]));
  });

  it('keeps the copy: the caller may reuse its buffer as soon as update returns', async () => {
    const offload = start();
    const body = offload.body();
    const buffer = Buffer.from('first part, ');
    const expected = md5([Buffer.from('first part, '), Buffer.from('second part')]);
    expect(body.update(buffer)).toBeUndefined();
    buffer.fill(0);
    expect(body.update(Buffer.from('second part'))).toBeUndefined();
    expect(await body.digest()).toBe(expected);
  });

  it('a dropped body does not disturb the others; a body digests once', async () => {
    const offload = start();
    const a = offload.body();
    const b = offload.body();
    a.update(Buffer.from('dropped'));
    b.update(Buffer.from('kept'));
    a.drop();
    expect(await b.digest()).toBe(md5([Buffer.from('kept')]));
    await expect(b.digest()).rejects.toThrow(/twice/);
    const empty = offload.body();
    expect(await empty.digest()).toBe(md5([]));
  });

  it('when the worker dies, a body it held fails with the cause; new bodies hash on this thread', async () => {
    const offload = start();
    const held = offload.body();
    held.update(Buffer.from('bytes the worker had'));
    const failed = expect(held.digest()).rejects.toThrow(/MD5 worker failed: MD5 worker closed/);
    await offload.close();
    await failed;
    const after = offload.body();
    expect(after.update(Buffer.from('later'))).toBeUndefined();
    expect(await after.digest()).toBe(md5([Buffer.from('later')]));
  });
});
