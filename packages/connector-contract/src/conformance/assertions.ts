/** Assertions shared by the conformance suites: they say what was being checked when they fail. */
import { expect } from 'vitest';
import { type ErrorCode, isConnectorError } from '../errors/connector-error.ts';

/** A short description of a thrown value, for failure messages. */
export function describeError(err: unknown): string {
  if (isConnectorError(err)) return `ConnectorError(${err.code}): ${err.message}`;
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return `non-Error value ${String(err)}`;
}

/**
 * Runs `fn` and checks that it fails with a ConnectorError of `code`. `what` names the call in
 * the failure message (e.g. `get of a missing packfile`). Returns the error.
 */
export async function expectConnectorError(what: string, code: ErrorCode, fn: () => unknown): Promise<Error> {
  let thrown: unknown;
  let threw = false;
  try {
    await fn();
  } catch (err) {
    thrown = err;
    threw = true;
  }
  expect(threw, `${what}: expected a ConnectorError '${code}', but the call succeeded`).toBe(true);
  expect(
    isConnectorError(thrown),
    `${what}: expected a ConnectorError '${code}', got ${describeError(thrown)} (is it an instance of the ConnectorError class of @kloset/connector-contract?)`,
  ).toBe(true);
  if (isConnectorError(thrown)) {
    expect(thrown.code, `${what}: wrong error code (message: ${thrown.message})`).toBe(code);
  }
  return thrown as Error;
}

/** Runs `fn` and checks that it fails (with anything); returns what was thrown. */
export async function expectFailure(what: string, fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  expect.fail(`${what}: expected a failure, but the call succeeded`);
}

/** Checks two byte arrays are equal, reporting the length or the first differing offset. */
export function expectBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  expect(actual, `${what}: expected a Uint8Array`).toBeInstanceOf(Uint8Array);
  expect(actual.length, `${what}: wrong length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) {
      expect.fail(`${what}: bytes differ at offset ${i} (got ${actual[i]}, expected ${expected[i]})`);
    }
  }
}

/** Collects an async iterable into an array. */
/** The ids and sizes a listing yields (without `modified`, which depends on the clock). */
export async function listed(
  iterable: AsyncIterable<{ readonly id: string; readonly size: number }>,
): Promise<{ id: string; size: number }[]> {
  const out: { id: string; size: number }[] = [];
  for await (const r of iterable) out.push({ id: r.id, size: r.size });
  return out;
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** Concatenates chunks into one array. */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const c of chunks) total += c.length;
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** Runs `fn` over `items` with at most `limit` calls in flight; rejects with the first failure. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
) {
  const results: R[] = new Array(items.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T, i);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
