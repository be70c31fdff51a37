/** Types and the per-test harness of `storageConformance`. */
import type { Storage } from '../storage/storage.ts';
import { deterministicBytes } from '../testing/deterministic-data.ts';

/** What a storage factory returns: a Storage over a fresh, empty location, and how to remove it. */
export interface StorageUnderTest {
  readonly storage: Storage;
  /**
   * Removes the location and everything in it. Called after `storage.close()` (the suite closes
   * the storage itself), also when the test failed.
   */
  cleanup(): Promise<void>;
  /**
   * Leaves in the storage, behind its back, what an interrupted put of packfile `id` leaves in
   * this backend (a temporary file, an incomplete multipart upload), and resolves with its bytes.
   * Given exactly when the storage has `removeLeftovers`: the suite checks both, then uses it.
   */
  makeLeftover?(id: string): Promise<{ readonly bytes: number }>;
}

/** Makes a Storage over a fresh, empty location (a new directory, a new bucket prefix...). */
export type StorageFactory = () => Promise<StorageUnderTest>;

/** What the storage under test offers beyond the mandatory contract, and size knobs. */
export interface StorageConformanceOptions {
  /**
   * Opens a read-only Storage over the same location as `storage` (which is read-write and has a
   * store). When given, read-only mode is checked; when absent, those checks are skipped.
   */
  readonly openReadOnly?: (storage: Storage) => Promise<Storage>;
  /**
   * Whether two concurrent `create` calls are guaranteed to have exactly one winner (an atomic
   * conditional create). Default true; the contract asks for it "where the backend allows".
   */
  readonly atomicCreate?: boolean;
  /** How many resources the "lists many resources" test puts. Default 300. */
  readonly listCount?: number;
  /** How many calls the concurrency tests keep in flight. Default 16. */
  readonly concurrency?: number;
  /** Timeout of each test, in ms. Default 120,000. */
  readonly timeoutMs?: number;
}

/** The config bytes the suite creates stores with: every byte value, deterministic. */
export const TEST_CONFIG: Uint8Array = (() => {
  const out = new Uint8Array(4099);
  for (let i = 0; i < 256; i++) out[i] = i;
  out.set(deterministicBytes(7, out.length - 256), 256);
  return out;
})();

/** Runs `fn` against a fresh storage (with a store created in it unless `create` is false). */
export async function withStorage(
  factory: StorageFactory,
  fn: (storage: Storage, handle: StorageUnderTest) => Promise<void>,
  create = true,
): Promise<void> {
  const handle = await factory();
  try {
    if (create) await handle.storage.create(TEST_CONFIG);
    await fn(handle.storage, handle);
  } finally {
    try {
      await handle.storage.close();
    } finally {
      await handle.cleanup();
    }
  }
}
