/**
 * storageConformance: `removeLeftovers`, for storages that have it (the factory's `makeLeftover`
 * leaves what an interrupted put of that backend leaves).
 */
import { expect, it } from 'vitest';
import { type LeftoverRemoval, RESOURCE_KINDS, type Storage } from '../storage/storage.ts';
import { deterministicBytes, testResourceId } from '../testing/deterministic-data.ts';
import { collect, expectBytes, expectConnectorError, listed } from './assertions.ts';
import type { StorageConformanceOptions, StorageFactory, StorageUnderTest } from './storage-harness.ts';
import { TEST_CONFIG, withStorage } from './storage-harness.ts';
import { chunkedBody } from './storage-resource-cases.ts';

/** Leftovers younger than this are kept by the calls that must keep them. */
const HOUR_MS = 3_600_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

type Remover = (olderThanMs: number) => Promise<LeftoverRemoval>;

/** The storage's removeLeftovers and the factory's makeLeftover, or undefined when it has neither. */
function leftoverTools(
  storage: Storage,
  handle: StorageUnderTest,
): { remove: Remover; make: NonNullable<StorageUnderTest['makeLeftover']> } | undefined {
  const remove = storage.removeLeftovers?.bind(storage);
  const make = handle.makeLeftover?.bind(handle);
  expect(
    remove !== undefined,
    'the storage has removeLeftovers exactly when the factory gives makeLeftover',
  ).toBe(make !== undefined);
  return remove !== undefined && make !== undefined ? { remove, make } : undefined;
}

/**
 * Runs `fn` on a fresh store whose storage has removeLeftovers; for a storage without it, only
 * checks that the factory gives no makeLeftover either.
 */
function withLeftovers(
  factory: StorageFactory,
  fn: (
    storage: Storage,
    tools: { remove: Remover; make: NonNullable<StorageUnderTest['makeLeftover']> },
  ) => Promise<void>,
): Promise<void> {
  return withStorage(factory, async (storage, handle) => {
    const tools = leftoverTools(storage, handle);
    if (tools !== undefined) await fn(storage, tools);
  });
}

/** Every resource of every kind, with its bytes, and the config. */
async function snapshotOf(storage: Storage): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  out.set('config', await storage.open());
  for (const kind of RESOURCE_KINDS) {
    for (const r of await listed(storage.list(kind)))
      out.set(`${kind}/${r.id}`, await storage.get(kind, r.id));
  }
  return out;
}

/** Registers the removeLeftovers tests. */
export function leftoverCases(
  factory: StorageFactory,
  options: StorageConformanceOptions,
  timeout: number,
): void {
  it(
    'leftovers younger than the age are kept, older ones removed and counted; resources are never touched',
    () =>
      withLeftovers(factory, async (storage, tools) => {
        expect(await tools.remove(0), 'removeLeftovers(0) of a fresh store').toEqual({ count: 0, bytes: 0 });
        for (const [k, kind] of RESOURCE_KINDS.entries()) {
          await storage.put(kind, testResourceId(700 + k), deterministicBytes(700 + k, 1000 + k));
        }
        const before = await snapshotOf(storage);
        // One leftover beside a resource that exists (an overwrite interrupted), one alone.
        const a = await tools.make(testResourceId(700));
        const b = await tools.make(testResourceId(799));
        expect(a.bytes + b.bytes, 'bytes of the leftovers made').toBeGreaterThan(0);
        expect(await tools.remove(HOUR_MS), 'removeLeftovers(1 h) right after they were left').toEqual({
          count: 0,
          bytes: 0,
        });
        // Backends keep times in seconds or milliseconds: let the leftovers age past a second.
        await sleep(1100);
        expect(await tools.remove(HOUR_MS), 'removeLeftovers(1 h) a second later').toEqual({
          count: 0,
          bytes: 0,
        });
        expect(await tools.remove(1000), 'removeLeftovers(1 s) of two leftovers 1.1 s old').toEqual({
          count: 2,
          bytes: a.bytes + b.bytes,
        });
        expect(await tools.remove(0), 'removeLeftovers(0) once they are gone').toEqual({
          count: 0,
          bytes: 0,
        });
        const after = await snapshotOf(storage);
        expect([...after.keys()].sort(), 'resources after removeLeftovers').toEqual(
          [...before.keys()].sort(),
        );
        for (const [name, bytes] of before)
          expectBytes(after.get(name)!, bytes, `${name} after removeLeftovers`);
        expectBytes(await storage.open(), TEST_CONFIG, 'config after removeLeftovers');
        // The name of a removed leftover is free for a put.
        const bytes = deterministicBytes(799, 4000);
        await storage.put('packfile', testResourceId(799), bytes);
        expectBytes(await storage.get('packfile', testResourceId(799)), bytes, 'a put where a leftover was');
      }),
    timeout,
  );

  it(
    'puts running during removeLeftovers with a grace period complete, and nothing is counted',
    () =>
      withLeftovers(factory, async (storage, tools) => {
        const ids = Array.from({ length: options.concurrency ?? 16 }, (_, i) => testResourceId(800 + i));
        let done = false;
        const puts = Promise.all(
          ids.map((id, i) => storage.put('packfile', id, chunkedBody(deterministicBytes(800 + i, 400_000)))),
        ).finally(() => {
          done = true;
        });
        const removals: LeftoverRemoval[] = [];
        do removals.push(await tools.remove(60_000));
        while (!done);
        await puts;
        for (const r of removals)
          expect(r, 'removeLeftovers(60 s) while puts run').toEqual({ count: 0, bytes: 0 });
        for (const [i, id] of ids.entries()) {
          expectBytes(
            await storage.get('packfile', id),
            deterministicBytes(800 + i, 400_000),
            `packfile ${i}`,
          );
        }
        expect((await collect(storage.list('packfile'))).length, 'packfiles listed').toBe(ids.length);
      }),
    timeout,
  );

  it(
    'removeLeftovers refuses an age that is negative or not finite, with invalid',
    () =>
      withLeftovers(factory, async (storage, tools) => {
        for (const age of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
          await expectConnectorError(`removeLeftovers(${age})`, 'invalid', () => tools.remove(age));
        }
      }),
    timeout,
  );

  if (options.openReadOnly !== undefined) {
    const openReadOnly = options.openReadOnly;
    it(
      'a read-only storage refuses removeLeftovers with permission and keeps the leftovers',
      () =>
        withLeftovers(factory, async (storage, tools) => {
          const made = await tools.make(testResourceId(900));
          const ro = await openReadOnly(storage);
          try {
            const roRemove = ro.removeLeftovers?.bind(ro);
            expect(roRemove, 'the read-only storage has removeLeftovers too').toBeDefined();
            if (roRemove !== undefined) {
              await expectConnectorError('removeLeftovers on a read-only storage', 'permission', () =>
                roRemove(0),
              );
            }
          } finally {
            await ro.close();
          }
          await sleep(1100);
          expect(await tools.remove(1000), 'the leftover is still there for the read-write storage').toEqual({
            count: 1,
            bytes: made.bytes,
          });
        }),
      timeout,
    );
  }
}
