/** storageConformance: `replaceConfig`, for storages that have it (passphrase change uses it). */
import { expect, it } from 'vitest';
import { deterministicBytes, testResourceId } from '../testing/deterministic-data.ts';
import { expectBytes, expectConnectorError, listed } from './assertions.ts';
import type { StorageConformanceOptions, StorageFactory } from './storage-harness.ts';
import { TEST_CONFIG, withStorage } from './storage-harness.ts';

/** Registers the replaceConfig tests (each passes at once for a storage without replaceConfig). */
export function configCases(
  factory: StorageFactory,
  options: StorageConformanceOptions,
  timeout: number,
): void {
  it(
    'replaceConfig() replaces the config, keeps every resource, and create() still refuses',
    () =>
      withStorage(factory, async (storage) => {
        if (storage.replaceConfig === undefined) return;
        const id = testResourceId(3);
        const resource = deterministicBytes(3, 500);
        await storage.put('snapshot', id, resource);
        const next = deterministicBytes(11, 300);
        await storage.replaceConfig(next);
        expectBytes(await storage.open(), next, 'config after replaceConfig()');
        await storage.replaceConfig(TEST_CONFIG);
        expectBytes(await storage.open(), TEST_CONFIG, 'config after a second replaceConfig()');
        expectBytes(await storage.get('snapshot', id), resource, 'a resource after replaceConfig()');
        expect(await listed(storage.list('snapshot')), 'snapshots after replaceConfig()').toEqual([
          { id, size: 500 },
        ]);
        await expectConnectorError('create() after replaceConfig()', 'already_exists', () =>
          storage.create(next),
        );
      }),
    timeout,
  );

  it(
    'replaceConfig() where there is no store fails with not_found and creates none',
    () =>
      withStorage(
        factory,
        async (storage) => {
          if (storage.replaceConfig === undefined) return;
          await expectConnectorError('replaceConfig() before create()', 'not_found', () =>
            storage.replaceConfig!(TEST_CONFIG),
          );
          await expectConnectorError('open() after a refused replaceConfig()', 'not_found', () =>
            storage.open(),
          );
        },
        false,
      ),
    timeout,
  );

  const openReadOnly = options.openReadOnly;
  if (openReadOnly) {
    it(
      'read-only mode: replaceConfig() fails with permission and changes nothing',
      () =>
        withStorage(factory, async (storage) => {
          const ro = await openReadOnly(storage);
          try {
            if (ro.replaceConfig === undefined) return;
            await expectConnectorError('read-only replaceConfig()', 'permission', () =>
              ro.replaceConfig!(deterministicBytes(12, 10)),
            );
            expectBytes(await storage.open(), TEST_CONFIG, 'config after a refused replaceConfig()');
          } finally {
            await ro.close();
          }
        }),
      timeout,
    );
  }
}
