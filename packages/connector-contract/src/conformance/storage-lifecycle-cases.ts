/** storageConformance: create, open, mode and read-only checks. */
import { expect, it } from 'vitest';
import { isConnectorError } from '../errors/connector-error.ts';
import { RESOURCE_KINDS } from '../storage/storage.ts';
import { deterministicBytes, testResourceId } from '../testing/deterministic-data.ts';
import { collect, expectBytes, expectConnectorError, listed } from './assertions.ts';
import {
  type StorageConformanceOptions,
  type StorageFactory,
  TEST_CONFIG,
  withStorage,
} from './storage-harness.ts';

/** Registers the create/open/mode tests. */
export function lifecycleCases(
  factory: StorageFactory,
  options: StorageConformanceOptions,
  timeout: number,
): void {
  it(
    'a fresh storage is read-write',
    () =>
      withStorage(
        factory,
        async (storage) => {
          expect(storage.mode, 'mode of the storage returned by the factory').toBe('read-write');
          expect(typeof storage.location, 'location').toBe('string');
        },
        false,
      ),
    timeout,
  );

  it(
    'open() of an empty location fails with not_found',
    () =>
      withStorage(
        factory,
        async (storage) => {
          await expectConnectorError('open() before create()', 'not_found', () => storage.open());
        },
        false,
      ),
    timeout,
  );

  it(
    'create() then open() returns the config bytes exactly',
    () =>
      withStorage(factory, async (storage) => {
        expectBytes(await storage.open(), TEST_CONFIG, 'config returned by open()');
      }),
    timeout,
  );

  it(
    'a second create() fails with already_exists and keeps the first config',
    () =>
      withStorage(factory, async (storage) => {
        await expectConnectorError('second create()', 'already_exists', () =>
          storage.create(deterministicBytes(99, 100)),
        );
        expectBytes(await storage.open(), TEST_CONFIG, 'config after a refused second create()');
      }),
    timeout,
  );

  if (options.atomicCreate !== false) {
    it(
      'two concurrent create() calls: exactly one wins, the other fails with already_exists',
      () =>
        withStorage(
          factory,
          async (storage) => {
            const configs = [deterministicBytes(1, 64), deterministicBytes(2, 64)];
            const outcomes = await Promise.allSettled(configs.map((c) => storage.create(c)));
            const winners = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i] : []));
            expect(winners.length, 'number of concurrent create() calls that succeeded').toBe(1);
            const loser = outcomes.find((o) => o.status === 'rejected');
            expect(
              loser && isConnectorError(loser.reason, 'already_exists'),
              'the losing create() fails with already_exists',
            ).toBe(true);
            expectBytes(await storage.open(), configs[winners[0]!]!, 'config after concurrent creates');
          },
          false,
        ),
      timeout,
    );
  }

  it(
    'a new store lists nothing, for every kind',
    () =>
      withStorage(factory, async (storage) => {
        for (const kind of RESOURCE_KINDS) {
          expect(await collect(storage.list(kind)), `list('${kind}') of a new store`).toEqual([]);
        }
      }),
    timeout,
  );

  const openReadOnly = options.openReadOnly;
  if (openReadOnly) {
    it(
      'read-only mode: reads work, create/put/delete fail with permission and change nothing',
      () =>
        withStorage(factory, async (storage) => {
          const id = testResourceId(1);
          const bytes = deterministicBytes(1, 1000);
          await storage.put('snapshot', id, bytes);
          const ro = await openReadOnly(storage);
          try {
            expect(ro.mode, 'mode of the read-only storage').toBe('read-only');
            expectBytes(await ro.open(), TEST_CONFIG, 'config via the read-only storage');
            expectBytes(await ro.get('snapshot', id), bytes, 'get via the read-only storage');
            expect(await listed(ro.list('snapshot')), 'list via the read-only storage').toEqual([
              { id, size: 1000 },
            ]);
            await expectConnectorError('read-only create()', 'permission', () => ro.create(TEST_CONFIG));
            await expectConnectorError('read-only put()', 'permission', () =>
              ro.put('snapshot', testResourceId(2), bytes),
            );
            await expectConnectorError('read-only put() over an existing id', 'permission', () =>
              ro.put('snapshot', id, new Uint8Array(3)),
            );
            await expectConnectorError('read-only delete()', 'permission', () => ro.delete('snapshot', id));
          } finally {
            await ro.close();
          }
          expect(await listed(storage.list('snapshot')), 'snapshots after refused writes').toEqual([
            { id, size: 1000 },
          ]);
          expectBytes(await storage.get('snapshot', id), bytes, 'snapshot after refused writes');
        }),
      timeout,
    );
  }
}
