/** storageConformance: list per kind, many resources, concurrency and id validation. */
import { expect, it } from 'vitest';
import { RESOURCE_KINDS, type ResourceInfo } from '../storage/storage.ts';
import { deterministicBytes, testResourceId } from '../testing/deterministic-data.ts';
import { collect, expectBytes, expectConnectorError, mapLimit } from './assertions.ts';
import { type StorageConformanceOptions, type StorageFactory, withStorage } from './storage-harness.ts';

const INVALID_IDS: readonly string[] = [
  '',
  'abc',
  'A'.repeat(64),
  'g'.repeat(64),
  '0'.repeat(63),
  '0'.repeat(65),
  `../${'0'.repeat(61)}`,
  `${'0'.repeat(31)}/${'0'.repeat(32)}`,
  ` ${'0'.repeat(63)}`,
];

function byId(infos: readonly ResourceInfo[]): ResourceInfo[] {
  return [...infos].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Registers the list, concurrency and id tests. */
export function listingCases(
  factory: StorageFactory,
  options: StorageConformanceOptions,
  timeout: number,
): void {
  const count = options.listCount ?? 300;
  const concurrency = options.concurrency ?? 16;

  it(
    'list(kind) shows only resources of that kind, with their sizes',
    () =>
      withStorage(factory, async (storage) => {
        // The same id under every kind, with a different size per kind.
        const id = testResourceId(100);
        for (const [i, kind] of RESOURCE_KINDS.entries()) {
          await storage.put(kind, id, deterministicBytes(i, 10 + i));
          await storage.put(kind, testResourceId(101 + i), deterministicBytes(i, 1000 * (i + 1)));
        }
        for (const [i, kind] of RESOURCE_KINDS.entries()) {
          const listed = byId(await collect(storage.list(kind)));
          const expected = byId([
            { id, size: 10 + i },
            { id: testResourceId(101 + i), size: 1000 * (i + 1) },
          ]);
          expect(
            listed.map((r) => ({ id: r.id, size: r.size })),
            `list('${kind}'): exactly its own resources`,
          ).toEqual(expected);
        }
      }),
    timeout,
  );

  it(
    `list() of ${count} resources yields each exactly once with its size`,
    () =>
      withStorage(factory, async (storage) => {
        const ids = Array.from({ length: count }, (_, i) => testResourceId(1000 + i));
        await mapLimit(ids, concurrency, (id, i) =>
          storage.put('packfile', id, deterministicBytes(i, i % 257)),
        );
        const listed = await collect(storage.list('packfile'));
        const seen = new Map<string, number>();
        for (const r of listed) {
          expect(seen.has(r.id), `list() yielded ${r.id} twice`).toBe(false);
          seen.set(r.id, r.size);
        }
        expect(listed.length, 'number of listed packfiles').toBe(count);
        for (const [i, id] of ids.entries()) {
          expect(seen.get(id), `listed size of packfile #${i} (${id})`).toBe(i % 257);
        }
      }),
    timeout,
  );

  it(
    'list() yields ResourceInfo objects with a valid id, an integer size and a plausible modified time',
    () =>
      withStorage(factory, async (storage) => {
        await storage.put('snapshot', testResourceId(200), deterministicBytes(1, 33));
        const [info] = await collect(storage.list('snapshot'));
        expect(info, 'listed snapshot').toBeDefined();
        expect(info!.id, 'listed id').toMatch(/^[0-9a-f]{64}$/);
        expect(Number.isSafeInteger(info!.size), 'listed size is a safe integer').toBe(true);
        if (info!.modified !== undefined) {
          // The backend's clock, here the same machine (or a server next to it): minutes apart at most.
          const skew = Math.abs(info!.modified - Date.now());
          expect(skew, 'listed modified time is close to the time of the put').toBeLessThan(10 * 60 * 1000);
        }
      }),
    timeout,
  );

  it(
    `concurrent put() and get() calls (${concurrency} in flight) all succeed with the right bytes`,
    () =>
      withStorage(factory, async (storage) => {
        const n = concurrency * 3;
        const ids = Array.from({ length: n }, (_, i) => testResourceId(300 + i));
        const data = ids.map((_, i) => deterministicBytes(300 + i, 10_000 + i * 997));
        await Promise.all(ids.map((id, i) => storage.put('packfile', id, data[i]!)));
        await Promise.all(
          ids.map(async (id, i) => {
            expectBytes(await storage.get('packfile', id), data[i]!, `concurrent get #${i}`);
            const r = { offset: i, length: 100 };
            expectBytes(
              await storage.get('packfile', id, r),
              data[i]!.subarray(i, i + 100),
              `concurrent ranged get #${i}`,
            );
          }),
        );
        // Writers and readers of the same lock at once: a reader sees a whole version, never a mix.
        const lock = testResourceId(399);
        const versions = [
          deterministicBytes(1, 50_000),
          deterministicBytes(2, 60_000),
          deterministicBytes(3, 70_000),
        ];
        await storage.put('lock', lock, versions[0]!);
        const reads: Promise<Uint8Array>[] = [];
        const writes: Promise<void>[] = [];
        for (let i = 0; i < concurrency; i++) {
          writes.push(storage.put('lock', lock, versions[i % 3]!));
          reads.push(storage.get('lock', lock));
        }
        await Promise.all(writes);
        for (const got of await Promise.all(reads)) {
          const match = versions.find((v) => v.length === got.length);
          expect(
            match,
            `a concurrently read lock has the size of one of the versions (${got.length})`,
          ).toBeDefined();
          expectBytes(got, match!, 'a lock read while being rewritten');
        }
      }),
    timeout,
  );

  it(
    'invalid ids are refused with invalid by put(), get() and delete(), and store nothing',
    () =>
      withStorage(factory, async (storage) => {
        for (const id of INVALID_IDS) {
          const shown = JSON.stringify(id);
          await expectConnectorError(`put() with id ${shown}`, 'invalid', () =>
            storage.put('packfile', id, new Uint8Array(1)),
          );
          await expectConnectorError(`get() with id ${shown}`, 'invalid', () => storage.get('packfile', id));
          await expectConnectorError(`delete() with id ${shown}`, 'invalid', () =>
            storage.delete('packfile', id),
          );
        }
        expect(await collect(storage.list('packfile')), 'packfiles after refused puts').toEqual([]);
      }),
    timeout,
  );
}
