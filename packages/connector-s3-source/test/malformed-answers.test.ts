/**
 * The S3 source's reads (object-reader.ts, and a backup-style scan and read of S3Source) against
 * malformed GetObject answers from a local misbehaving server (s3-common testing/malformed-server.ts):
 * a malformed answer is retried (the server counts the requests) and the object then read whole, or,
 * when every answer is malformed, the read ends in a one-line ConnectorError naming the bucket and
 * the key, within a bound derived from the timeouts and the retry policy; the other objects of the
 * bucket are read whole; no byte the server did not frame unambiguously is ever yielded.
 */
import { createHash } from 'node:crypto';
import { ConnectorError, type SourceRecord } from '@kloset/connector-contract';
import { createS3Connection, describeTarget, type S3Connection, type S3Settings } from '@kloset/s3-common';
import {
  type AnswerShape,
  MALFORMED_SHAPES,
  MALFORMED_TEST_RETRY,
  MALFORMED_TEST_TIMEOUTS,
  type MalformedServer,
  malformedServerSettings,
  retriedBoundMs,
  seedBytes,
  startMalformedServer,
  TRANSIENT_SHAPES,
} from '@kloset/s3-common/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readObject, S3_SOURCE_OPTIONS, S3Source } from '../src/index.ts';

const BUCKET = 'malformed-source';
const RETRY = MALFORMED_TEST_RETRY;

const bytes = (n: number, seed: number): Buffer => Buffer.from(seedBytes(seed, n));

const BAD_KEY = 'data/bad.bin';
const objects: Record<string, Uint8Array> = {
  'data/a.bin': bytes(120_000, 1),
  [BAD_KEY]: bytes(300_000, 2),
  'data/sub/c.bin': bytes(90_000, 3),
  'data/z.bin': bytes(10, 4),
};

let server: MalformedServer;
let settings: S3Settings;
const conns: S3Connection[] = [];
const sources: S3Source[] = [];

beforeAll(async () => {
  server = await startMalformedServer({ bucket: BUCKET, objects });
  settings = malformedServerSettings(server, S3_SOURCE_OPTIONS, 'data/');
});
afterEach(async () => {
  for (const c of conns.splice(0)) c.destroy();
  for (const s of sources.splice(0)) await s.close();
});
afterAll(async () => {
  await server?.close();
});

/** GetObjects of `key` answered `shape`: the first `times` of them (all by default). */
function malformed(key: string, shape: AnswerShape, times = Number.POSITIVE_INFINITY): void {
  server.setPlan((req, nth) => (req.op === 'GetObject' && req.key === key && nth < times ? shape : 'valid'));
}

function etagOf(key: string): string {
  return `"${createHash('md5').update(objects[key]!).digest('hex')}"`;
}

interface ReadOutcome {
  readonly bytes: Buffer;
  readonly err: unknown;
  readonly ms: number;
}

async function readAll(body: AsyncIterable<Uint8Array>): Promise<ReadOutcome> {
  const t0 = performance.now();
  const parts: Uint8Array[] = [];
  let err: unknown;
  try {
    for await (const p of body) parts.push(p);
  } catch (e) {
    err = e;
  }
  return { bytes: Buffer.concat(parts), err, ms: performance.now() - t0 };
}

function isPrefixOf(got: Buffer, whole: Uint8Array): boolean {
  return got.length <= whole.length && Buffer.compare(got, Buffer.from(whole.subarray(0, got.length))) === 0;
}

/**
 * The failure of a read of `key` after `gets` GetObjects: a one-line ConnectorError naming the
 * bucket and the key; a `transient` one after every attempt was spent, a `corrupt` one after at
 * least one, a final one after exactly one.
 */
function expectReadFailure(err: unknown, key: string, gets: number, shape: AnswerShape): ConnectorError {
  expect(err, `every answer ${shape}: the read must fail`).toBeInstanceOf(ConnectorError);
  const e = err as ConnectorError;
  expect(e.message, 'one line').not.toMatch(/[\r\n]/);
  expect(e.message).toContain(describeTarget(BUCKET, key));
  if (TRANSIENT_SHAPES.has(shape)) expect(e.code).toBe('transient');
  if (e.code === 'transient' || e.code === 'unavailable') {
    expect(gets, 'a transient failure is retried until the attempts are spent').toBe(RETRY.attempts);
  } else if (e.code === 'corrupt') {
    expect(gets).toBeGreaterThanOrEqual(1);
    expect(gets).toBeLessThanOrEqual(RETRY.attempts);
  } else {
    expect(gets, `a final ${e.code} error is not retried`).toBe(1);
  }
  return e;
}

function connection(): S3Connection {
  const c = createS3Connection(settings);
  conns.push(c);
  return c;
}

const bound = retriedBoundMs(MALFORMED_TEST_TIMEOUTS, RETRY);
/** A hung read fails its test soon after the bound instead of at Vitest's 60 s. */
const TEST_TIMEOUT_MS = bound + 5000;
const whole = objects[BAD_KEY]!;

describe('object-reader: readObject against malformed GetObject answers', () => {
  for (const shape of MALFORMED_SHAPES) {
    it(
      `${shape} once: retried, then the object read whole`,
      async () => {
        malformed(BAD_KEY, shape, 1);
        const out = await readAll(
          readObject(connection(), { key: BAD_KEY, size: whole.length, etag: etagOf(BAD_KEY) }, RETRY),
        );
        expect(out.err).toBeUndefined();
        expect(Buffer.compare(out.bytes, Buffer.from(whole)), 'exactly the object').toBe(0);
        const gets = server.count('GetObject', BAD_KEY);
        if (shape === 'long-body')
          expect(gets, 'framed by its Content-Length: read at once').toBeLessThanOrEqual(2);
        else expect(gets, `a ${shape} answer is refused and retried once`).toBe(2);
        expect(out.ms).toBeLessThan(bound);
      },
      TEST_TIMEOUT_MS,
    );

    it(
      `${shape} always: ${shape === 'long-body' ? 'the Content-Length bytes' : 'a one-line error naming bucket and key after the retries'}, within the bound`,
      async () => {
        malformed(BAD_KEY, shape);
        const out = await readAll(
          readObject(connection(), { key: BAD_KEY, size: whole.length, etag: etagOf(BAD_KEY) }, RETRY),
        );
        expect(isPrefixOf(out.bytes, whole), 'only bytes of the object, in order').toBe(true);
        const gets = server.count('GetObject', BAD_KEY);
        if (shape === 'long-body' && out.err === undefined) {
          expect(out.bytes.length).toBe(whole.length);
          expect(gets).toBe(1);
        } else {
          expectReadFailure(out.err, BAD_KEY, gets, shape);
        }
        expect(out.ms).toBeLessThan(bound);
      },
      TEST_TIMEOUT_MS,
    );
  }
});

interface EntryOutcome {
  readonly path: string;
  readonly bytes?: Buffer;
  readonly error?: string;
  readonly cause?: unknown;
}

/**
 * What a backup does with the source: every record of the scan, files opened and read one after
 * the other; a failed open or read is the entry's error (kloset-core storeFileContent).
 */
async function backupStyle(source: S3Source): Promise<EntryOutcome[]> {
  const out: EntryOutcome[] = [];
  const records: SourceRecord[] = [];
  for await (const r of source.scan()) records.push(r);
  for (const r of records) {
    if (r.type !== 'file') continue;
    if (r.error !== undefined) {
      out.push({ path: r.path, error: r.error });
      continue;
    }
    try {
      const content = await r.open();
      const parts: Uint8Array[] = [];
      for await (const p of content) parts.push(p);
      out.push({ path: r.path, bytes: Buffer.concat(parts) });
    } catch (err) {
      out.push({ path: r.path, error: err instanceof Error ? err.message : String(err), cause: err });
    }
  }
  return out;
}

describe('S3 source: a backup-style scan and read with one object served malformed', () => {
  for (const shape of MALFORMED_SHAPES) {
    it(
      `${shape}: ${shape === 'long-body' ? 'every entry read whole' : 'that entry failed, naming bucket and key; the others read whole'}`,
      async () => {
        malformed(BAD_KEY, shape);
        const source = new S3Source({ settings, retry: RETRY });
        sources.push(source);
        const t0 = performance.now();
        const entries = await backupStyle(source);
        const ms = performance.now() - t0;
        expect(entries.map((e) => e.path).sort()).toEqual(['/a.bin', '/bad.bin', '/sub/c.bin', '/z.bin']);
        for (const e of entries) {
          const key = `data${e.path}`;
          if (key === BAD_KEY && !(shape === 'long-body' && e.error === undefined)) {
            expect(e.bytes).toBeUndefined();
            expect(e.error).toBeDefined();
            expectReadFailure(e.cause, BAD_KEY, server.count('GetObject', BAD_KEY), shape);
            expect(e.error).toContain(describeTarget(BUCKET, BAD_KEY));
            continue;
          }
          expect(e.error, `${key} must be read`).toBeUndefined();
          expect(Buffer.compare(e.bytes!, Buffer.from(objects[key]!)), `${key}: exactly the object`).toBe(0);
        }
        expect(server.count('ListObjectsV2', '')).toBeGreaterThanOrEqual(1);
        expect(ms).toBeLessThan(bound);
      },
      TEST_TIMEOUT_MS,
    );
  }
});
