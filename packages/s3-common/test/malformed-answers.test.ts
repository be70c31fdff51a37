/**
 * The S3 data plane (createS3Connection: GetObject whole and ranged, PutObject, UploadPart) against
 * answers no S3 server should send, from a local misbehaving server (testing/malformed-server.ts).
 * Each malformed answer must end in an error that s3Call maps to a one-line ConnectorError naming
 * the bucket and the key, within the timeouts, after exactly one request (retries are the callers'
 * job); no byte the server did not frame unambiguously may come out as a body; and the connection
 * must not be poisoned: the next request on the same S3Connection gets its own answer.
 */
import { createHash } from 'node:crypto';
import { ConnectorError } from '@kloset/connector-contract';
import {
  type AnswerShape,
  attemptBoundMs,
  MALFORMED_SHAPES,
  MALFORMED_TEST_TIMEOUTS,
  type MalformedServer,
  malformedServerSettings,
  SMUGGLED_BODY,
  seedBytes,
  startMalformedServer,
  TRANSIENT_SHAPES,
} from '@kloset/s3-common/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  contentMd5,
  createS3Connection,
  describeTarget,
  S3_COMMON_OPTIONS,
  type S3Connection,
  type S3Settings,
  toConnectorError,
} from '../src/index.ts';

const BUCKET = 'malformed-bucket';
/** A hung request fails its test soon after the bound instead of at Vitest's 60 s. */
const TEST_TIMEOUT_MS = 3 * attemptBoundMs(MALFORMED_TEST_TIMEOUTS) + 5000;

const bytes = (n: number, seed: number): Buffer => Buffer.from(seedBytes(seed, n));

const GOOD_KEY = 'ok/one.bin';
const objects: Record<string, Uint8Array> = { [GOOD_KEY]: bytes(150_000, 1), 'ok/two.bin': bytes(70_000, 2) };
const badKey = (shape: AnswerShape): string => `bad/${shape}.bin`;
MALFORMED_SHAPES.forEach((shape, i) => {
  objects[badKey(shape)] = bytes(200_000 + i, 10 + i);
});
const putKey = (shape: AnswerShape): string => `put/${shape}.bin`;

let server: MalformedServer;
let settings: S3Settings;
const conns: S3Connection[] = [];

beforeAll(async () => {
  server = await startMalformedServer({ bucket: BUCKET, objects });
  settings = malformedServerSettings(server, S3_COMMON_OPTIONS);
});
afterEach(() => {
  for (const c of conns.splice(0)) c.destroy();
});
afterAll(async () => {
  await server?.close();
});

/** Bad keys (GET and PUT) are answered with their shape, everything else validly. */
function planShapes(): void {
  server.setPlan((req) => {
    const m = /^(?:bad|put)\/([a-z-]+)\.bin$/.exec(req.key);
    const shape = MALFORMED_SHAPES.find((s) => s === m?.[1]);
    return shape !== undefined && (req.op === 'GetObject' || req.op === 'PutObject') ? shape : 'valid';
  });
}

function connection(): S3Connection {
  const c = createS3Connection(settings);
  conns.push(c);
  return c;
}

interface Outcome {
  /** The bytes the body gave before it ended or failed. */
  readonly bytes: Buffer;
  readonly err: unknown;
  readonly ms: number;
}

/** A GetObject and its body read to the end; never throws. */
async function getAll(conn: S3Connection, key: string, offset?: number): Promise<Outcome> {
  const parts: Uint8Array[] = [];
  const t0 = performance.now();
  let err: unknown;
  try {
    const { body } = await conn.getObject({ key, ...(offset !== undefined ? { offset } : {}) });
    for await (const p of body) parts.push(p);
  } catch (e) {
    err = e;
  }
  return { bytes: Buffer.concat(parts), err, ms: performance.now() - t0 };
}

function isPrefixOf(got: Buffer, whole: Uint8Array): boolean {
  return got.length <= whole.length && Buffer.compare(got, Buffer.from(whole.subarray(0, got.length))) === 0;
}

/** The ConnectorError s3Call makes of `err`: one line, naming the bucket and the key. */
function mapped(err: unknown, op: string, key: string): ConnectorError {
  const e = toConnectorError(err, { op, bucket: BUCKET, key, endpoint: server.endpoint });
  expect(e).toBeInstanceOf(ConnectorError);
  expect(e.message, 'one line').not.toMatch(/[\r\n]/);
  expect(e.message).toContain(`S3 ${op} on ${describeTarget(BUCKET, key)}: `);
  return e;
}

/** The connection still answers a good GetObject with exactly that object (no smuggled answer). */
async function stillGood(conn: S3Connection): Promise<void> {
  const next = await getAll(conn, GOOD_KEY);
  expect(next.err).toBeUndefined();
  expect(next.bytes.toString('latin1')).not.toContain(SMUGGLED_BODY);
  expect(
    Buffer.compare(next.bytes, Buffer.from(objects[GOOD_KEY]!)),
    'the next GET gets its own object',
  ).toBe(0);
  expect(next.ms).toBeLessThan(attemptBoundMs(settings.timeouts));
}

describe('malformed GetObject answers on the S3 connection', () => {
  it('the server lists its objects validly', async () => {
    planShapes();
    const page = await connection().listObjects({ prefix: 'ok/' });
    expect(page.Contents.map((c) => [c.Key, c.Size])).toEqual([
      [GOOD_KEY, 150_000],
      ['ok/two.bin', 70_000],
    ]);
  });

  for (const shape of MALFORMED_SHAPES) {
    for (const offset of [undefined, 1234]) {
      const what = offset === undefined ? 'whole' : `ranged from ${offset}`;
      it(
        `${shape}, ${what}: ${shape === 'long-body' ? 'exactly Content-Length bytes' : 'an error'}, one request, within the timeouts, connection not poisoned`,
        async () => {
          planShapes();
          const key = badKey(shape);
          const whole = objects[key]!.subarray(offset ?? 0);
          const conn = connection();
          const out = await getAll(conn, key, offset);
          expect(
            isPrefixOf(out.bytes, whole),
            'only bytes of the object, in order, never framing or junk',
          ).toBe(true);
          if (shape === 'long-body') {
            // Framed by its Content-Length: the object, not one byte more (no smuggled answer).
            if (out.err === undefined) expect(out.bytes.length).toBe(whole.length);
          } else {
            expect(out.err, `a ${shape} answer must not give a body`).toBeDefined();
          }
          if (out.err !== undefined) {
            const e = mapped(out.err, 'GetObject', key);
            if (TRANSIENT_SHAPES.has(shape)) expect(e.code).toBe('transient');
          }
          expect(out.ms).toBeLessThan(attemptBoundMs(settings.timeouts));
          expect(server.count('GetObject', key), 'no retry inside the connection').toBe(1);
          await stillGood(conn);
        },
        TEST_TIMEOUT_MS,
      );
    }
  }
});

describe('malformed PutObject answers on the S3 connection', () => {
  for (const shape of MALFORMED_SHAPES) {
    it(
      `${shape}: ${shape === 'long-body' ? 'done' : 'an error'}, one request, within the timeouts, connection not poisoned`,
      async () => {
        planShapes();
        const key = putKey(shape);
        const body = bytes(50_000, 99);
        const conn = connection();
        const t0 = performance.now();
        const err = await conn.putObject({ key, body, md5: contentMd5(body) }).then(
          () => undefined,
          (e: unknown) => e,
        );
        const ms = performance.now() - t0;
        if (shape !== 'long-body') {
          expect(err, `a ${shape} answer to a PutObject must fail it`).toBeDefined();
          const e = mapped(err, 'PutObject', key);
          if (TRANSIENT_SHAPES.has(shape)) expect(e.code).toBe('transient');
        } else if (err !== undefined) {
          mapped(err, 'PutObject', key);
        }
        expect(ms).toBeLessThan(attemptBoundMs(settings.timeouts));
        expect(server.count('PutObject', key), 'no retry inside the connection').toBe(1);
        // The next PUT on the connection gets its own answer (its ETag), not a smuggled one.
        const part = bytes(20_000, 98);
        const etag = await conn.uploadPart({
          key: 'put/ok.bin',
          uploadId: 'upload-1',
          partNumber: 1,
          body: part,
          md5: contentMd5(part),
        });
        expect(etag).toBe(`"${createHash('md5').update(part).digest('hex')}"`);
      },
      TEST_TIMEOUT_MS,
    );
  }
});
