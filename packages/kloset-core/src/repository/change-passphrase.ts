/**
 * `passphrase change` (FORMAT.md §3.1, §10): the config is replaced by one whose `encryption` wraps
 * the same master key under the new passphrase. Nothing else is written: packfiles, states and
 * snapshots stay as they are, and every key derived from K (so every id and object key) is the same.
 */
import { openStoreConfig } from '../format/config.ts';
import { PassphraseChangeError, type RewrapOptions, rewrapStoreConfig } from '../format/rewrap-config.ts';
import type { Repository } from './repository.ts';

/** What changePassphrase did. */
export interface PassphraseChangeResult {
  /** Argon2id cost of the new wrapping. */
  readonly kdf: { readonly memoryKiB: number; readonly passes: number; readonly parallelism: number };
}

const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) === 0;

/**
 * Wraps the master key of `repo` (opened with `passphrase`) under `newPassphrase`, under the
 * store's exclusive lock (a second passphrase change, or any writer that could read the config
 * meanwhile, waits or fails). The new config is built, checked to open with the new passphrase
 * to the same keys, then put with the storage's atomic `replaceConfig`, and read back: at every
 * instant the store opens with the old passphrase or the new one. Throws PassphraseChangeError
 * for a plaintext store, a storage without replaceConfig, or a new passphrase equal to the old.
 */
export async function changePassphrase(
  repo: Repository,
  passphrase: string,
  newPassphrase: string,
  options: RewrapOptions = {},
): Promise<PassphraseChangeResult> {
  const storage = repo.storage;
  const replace = storage.replaceConfig?.bind(storage);
  if (repo.config.encryption === null) {
    throw new PassphraseChangeError('this store is not encrypted: it has no passphrase');
  }
  if (replace === undefined) {
    throw new PassphraseChangeError(`the storage of ${storage.location} cannot replace its config`);
  }
  const lock = await repo.lock({ exclusive: true });
  try {
    const current = await storage.open();
    const next = await rewrapStoreConfig(current, passphrase, newPassphrase, repo.provider, options);
    const opened = await openStoreConfig(next, newPassphrase, repo.provider);
    if (
      !same(opened.config.storeId, repo.config.storeId) ||
      !same(opened.keyRing.macKey, repo.keyRing.macKey) ||
      !same(opened.keyRing.encKey, repo.keyRing.encKey)
    ) {
      throw new PassphraseChangeError(
        `the config of ${storage.location} changed since the store was opened: nothing was written`,
      );
    }
    await replace(next);
    const back = await storage.open();
    if (!same(back, next)) {
      throw new PassphraseChangeError(
        `the config of ${storage.location} read back differs from the one just written: run the change again with the passphrase that opens it`,
      );
    }
    const kdf = opened.config.encryption!.kdf;
    return { kdf: { memoryKiB: kdf.memoryKiB, passes: kdf.passes, parallelism: kdf.parallelism } };
  } finally {
    await lock.release();
  }
}
