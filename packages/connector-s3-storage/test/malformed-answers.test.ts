/**
 * The S3 storage (get whole and ranged, list, put), wrapped in the contract's RetryStorage as the
 * CLI uses it, against malformed answers from a local misbehaving server (s3-common
 * testing/malformed-server.ts): a malformed answer is retried (the server counts the requests) and
 * the resource then read exactly, or, when every answer is malformed, the call ends in a one-line
 * ConnectorError naming the bucket and the key, within a bound derived from the timeouts and the
 * retry policy; no byte the server did not frame unambiguously comes back; the listing and the
 * other resources stay readable.
 */
import { ConnectorError, type ResourceInfo, RetryStorage } from '@kloset/connector-contract';
import { describeTarget, type S3Settings } from '@kloset/s3-common';
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
import { S3_STORAGE_OPTIONS, S3Storage } from '../src/index.ts';

const BUCKET = 'malformed-store';
const RETRY = MALFORMED_TEST_RETRY;
/** RetryStorage retries a `corrupt` failure this many times (its default). */
const CORRUPT_RETRIES = 1;

const bytes = (n: number, seed: number): Buffer => Buffer.from(seedBytes(seed, n));

const id = (c: string): string => c.repeat(64);
const GOOD = id('a');
const BAD = id('b');
const OTHER = id('c');
const keyOf = (pack: string): string => `store/packfiles/${pack.slice(0, 2)}/${pack}`;
const objects: Record<string, Uint8Array> = {
  [keyOf(GOOD)]: bytes(100_000, 1),
  [keyOf(BAD)]: bytes(250_000, 2),
  [keyOf(OTHER)]: bytes(40_000, 3),
  'store/config': bytes(100, 4),
};
const RANGE = { offset: 1000, length: 150_000 };

let server: MalformedServer;
let settings: S3Settings;
const stores: RetryStorage[] = [];

beforeAll(async () => {
  server = await startMalformedServer({ bucket: BUCKET, objects });
  settings = malformedServerSettings(server, S3_STORAGE_OPTIONS, 'store/');
});
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});
afterAll(async () => {
  await server?.close();
});

function store(): RetryStorage {
  const s = new RetryStorage(new S3Storage({ settings }), {
    maxAttempts: RETRY.attempts,
    baseDelayMs: RETRY.baseDelayMs,
    maxDelayMs: RETRY.maxDelayMs,
    maxCorruptRetries: CORRUPT_RETRIES,
  });
  stores.push(s);
  return s;
}

/** Requests of `op` on `key` answered `shape`: the first `times` of them (all by default). */
function malformed(op: 'GetObject' | 'PutObject', key: string, shape: AnswerShape, times = Infinity): void {
  server.setPlan((req, nth) => (req.op === op && req.key === key && nth < times ? shape : 'valid'));
}

async function settle<T>(p: Promise<T>): Promise<{ value?: T; err?: unknown; ms: number }> {
  const t0 = performance.now();
  try {
    const value = await p;
    return { value, ms: performance.now() - t0 };
  } catch (err) {
    return { err, ms: performance.now() - t0 };
  }
}

/**
 * The failure of a call on `key` after `requests` requests: a one-line ConnectorError naming the
 * bucket and the key; `transient` after every attempt, `corrupt` after 1 + CORRUPT_RETRIES, a
 * final one after exactly one.
 */
function expectFailure(err: unknown, key: string, requests: number, shape: AnswerShape): ConnectorError {
  expect(err, `every answer ${shape}: the call must fail`).toBeInstanceOf(ConnectorError);
  const e = err as ConnectorError;
  expect(e.message, 'one line').not.toMatch(/[\r\n]/);
  expect(e.message).toContain(describeTarget(BUCKET, key));
  if (TRANSIENT_SHAPES.has(shape)) expect(e.code).toBe('transient');
  const expected =
    e.code === 'transient' || e.code === 'unavailable'
      ? RETRY.attempts
      : e.code === 'corrupt'
        ? Math.min(RETRY.attempts, 1 + CORRUPT_RETRIES)
        : 1;
  expect(requests, `requests for a ${e.code} failure`).toBe(expected);
  return e;
}

/** The store still lists its packfiles and reads another one exactly. */
async function stillGood(s: RetryStorage): Promise<void> {
  const listed: ResourceInfo[] = [];
  for await (const r of s.list('packfile')) listed.push(r);
  expect(listed.map((r) => [r.id, r.size]).sort()).toEqual([
    [GOOD, 100_000],
    [BAD, 250_000],
    [OTHER, 40_000],
  ]);
  const other = await s.get('packfile', OTHER);
  expect(Buffer.compare(Buffer.from(other), Buffer.from(objects[keyOf(OTHER)]!))).toBe(0);
}

const bound = retriedBoundMs(MALFORMED_TEST_TIMEOUTS, RETRY);
/** A hung call fails its test soon after the bound instead of at Vitest's 60 s. */
const TEST_TIMEOUT_MS = bound + 5000;
const badWhole = objects[keyOf(BAD)]!;
const badRange = badWhole.subarray(RANGE.offset, RANGE.offset + RANGE.length);

describe('S3 storage (with RetryStorage) against malformed GetObject answers', () => {
  for (const shape of MALFORMED_SHAPES) {
    for (const ranged of [false, true]) {
      const what = ranged ? `ranged get ${RANGE.offset}+${RANGE.length}` : 'whole get';
      const expected = ranged ? badRange : badWhole;

      it(
        `${shape}, ${what}, once: retried, then exactly the bytes asked`,
        async () => {
          malformed('GetObject', keyOf(BAD), shape, 1);
          const s = store();
          const out = await settle(s.get('packfile', BAD, ranged ? RANGE : undefined));
          expect(out.err).toBeUndefined();
          expect(Buffer.compare(Buffer.from(out.value!), Buffer.from(expected))).toBe(0);
          const gets = server.count('GetObject', keyOf(BAD));
          if (shape === 'long-body') expect(gets).toBeLessThanOrEqual(2);
          else expect(gets, `a ${shape} answer is refused and retried once`).toBe(2);
          expect(out.ms).toBeLessThan(bound);
        },
        TEST_TIMEOUT_MS,
      );

      it(
        `${shape}, ${what}, always: ${shape === 'long-body' ? 'exactly the bytes asked' : 'a one-line error naming bucket and key after the retries'}, within the bound; the store still lists and reads`,
        async () => {
          malformed('GetObject', keyOf(BAD), shape);
          const s = store();
          const out = await settle(s.get('packfile', BAD, ranged ? RANGE : undefined));
          const gets = server.count('GetObject', keyOf(BAD));
          if (shape === 'long-body' && out.err === undefined) {
            expect(Buffer.compare(Buffer.from(out.value!), Buffer.from(expected)), 'never more bytes').toBe(
              0,
            );
            expect(gets).toBe(1);
          } else {
            expect(out.value, `a ${shape} answer must not give bytes`).toBeUndefined();
            expectFailure(out.err, keyOf(BAD), gets, shape);
          }
          expect(out.ms).toBeLessThan(bound);
          await stillGood(s);
        },
        TEST_TIMEOUT_MS,
      );
    }
  }
});

describe('S3 storage (with RetryStorage) against malformed PutObject answers', () => {
  for (const shape of MALFORMED_SHAPES) {
    it(
      `${shape}: ${shape === 'long-body' ? 'stored' : 'a one-line error naming bucket and key after the retries'}, within the bound`,
      async () => {
        const pack = id('d');
        malformed('PutObject', keyOf(pack), shape);
        const s = store();
        const out = await settle(s.put('packfile', pack, bytes(60_000, 5)));
        const puts = server.count('PutObject', keyOf(pack));
        if (shape === 'long-body' && out.err === undefined) expect(puts).toBe(1);
        else expectFailure(out.err, keyOf(pack), puts, shape);
        expect(out.ms).toBeLessThan(bound);
        await stillGood(s);
      },
      TEST_TIMEOUT_MS,
    );
  }
});
