import { FaultInjectingStorage } from '@kloset/connector-contract';
import { MemoryStorage } from '@kloset/connector-contract/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { WrongPassphraseError } from '../src/crypto/errors.ts';
import { nodeCryptoProvider } from '../src/crypto/node-provider.ts';
import { decodeMsgpack, encodeMsgpack, type MsgpackValue } from '../src/encoding/msgpack.ts';
import { decodeStoreConfig } from '../src/format/config.ts';
import { PassphraseChangeError, rewrapStoreConfig } from '../src/format/rewrap-config.ts';
import { BlobKind } from '../src/repository/blob-store.ts';
import { changePassphrase } from '../src/repository/change-passphrase.ts';
import { Repository } from '../src/repository/repository.ts';
import { createTestRepository, PASSPHRASE, tempDir, WEAK_KDF } from './repository-helpers.ts';

const NEW = 'a new passphrase';
const dirs: { cleanup: () => void }[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});
function cacheDir(): string {
  const d = tempDir();
  dirs.push(d);
  return d.path;
}

/** Every resource of the store, by kind/id, as hex. */
function resources(storage: MemoryStorage): Map<string, string> {
  const out = new Map<string, string>();
  for (const [kind, map] of Object.entries(storage.store.resources)) {
    for (const [id, bytes] of map) out.set(`${kind}/${id}`, Buffer.from(bytes).toString('hex'));
  }
  return out;
}

describe('changePassphrase', () => {
  it('rewraps the same key: the old passphrase fails, the new one reads the data, nothing else is written', async () => {
    const { repo, storage } = await createTestRepository(cacheDir());
    const memory = storage as MemoryStorage;
    const data = new TextEncoder().encode('hello passphrase change');
    const put = await repo.putBlob(BlobKind.Chunk, data);
    await repo.flush();
    const before = resources(memory);
    const oldConfig = decodeStoreConfig(memory.store.config!).config;

    const result = await changePassphrase(repo, PASSPHRASE, NEW, { kdf: WEAK_KDF });
    expect(result.kdf).toEqual(WEAK_KDF);
    await repo.close();

    // Locks come and go; every other resource is byte-identical.
    const after = resources(memory);
    for (const m of [before, after]) for (const k of [...m.keys()]) if (k.startsWith('lock/')) m.delete(k);
    expect(after).toEqual(before);
    const newConfig = decodeStoreConfig(memory.store.config!).config;
    expect(newConfig.storeId).toEqual(oldConfig.storeId);
    expect(newConfig.encryption!.kdf.salt).not.toEqual(oldConfig.encryption!.kdf.salt);
    expect(newConfig.encryption!.wrappedKey).not.toEqual(oldConfig.encryption!.wrappedKey);

    await expect(Repository.open(storage, { passphrase: PASSPHRASE, cacheDir: cacheDir() })).rejects.toThrow(
      WrongPassphraseError,
    );
    const reopened = await Repository.open(storage, { passphrase: NEW, cacheDir: cacheDir() });
    try {
      expect(Buffer.from(await reopened.getBlob(BlobKind.Chunk, put.id))).toEqual(Buffer.from(data));
    } finally {
      await reopened.close();
    }
  });

  it('refuses the same passphrase, a wrong current one and a plaintext store, and writes nothing', async () => {
    const { repo, storage } = await createTestRepository(cacheDir());
    const memory = storage as MemoryStorage;
    const config = memory.store.config!.slice();
    try {
      await expect(changePassphrase(repo, PASSPHRASE, PASSPHRASE, { kdf: WEAK_KDF })).rejects.toThrow(
        /the same as the current one/,
      );
      await expect(changePassphrase(repo, 'wrong', NEW, { kdf: WEAK_KDF })).rejects.toThrow(
        WrongPassphraseError,
      );
      expect(memory.store.config).toEqual(config);
      expect(memory.store.resources.lock.size).toBe(0);
    } finally {
      await repo.close();
    }
    const plain = await createTestRepository(cacheDir(), { plaintext: true, passphrase: undefined });
    try {
      await expect(changePassphrase(plain.repo, 'x', NEW)).rejects.toThrow(PassphraseChangeError);
    } finally {
      await plain.repo.close();
    }
  });

  for (const when of ['before', 'after'] as const) {
    it(`a replaceConfig that fails ${when} writing: the store opens with the ${when === 'before' ? 'old' : 'new'} passphrase, and the lock is gone`, async () => {
      const memory = new MemoryStorage();
      const faulty = new FaultInjectingStorage(memory, {
        rules: [{ op: 'replaceConfig', fault: { type: 'error', code: 'unavailable', when } }],
      });
      const { repo } = await createTestRepository(cacheDir(), {}, faulty);
      try {
        await expect(changePassphrase(repo, PASSPHRASE, NEW, { kdf: WEAK_KDF })).rejects.toThrow(
          /unavailable|injected/,
        );
      } finally {
        await repo.close();
      }
      expect(faulty.injected.map((f) => f.op)).toEqual(['replaceConfig']);
      expect(memory.store.resources.lock.size).toBe(0);
      const [opens, fails] = when === 'before' ? [PASSPHRASE, NEW] : [NEW, PASSPHRASE];
      await expect(Repository.open(memory, { passphrase: fails, cacheDir: cacheDir() })).rejects.toThrow(
        WrongPassphraseError,
      );
      await (await Repository.open(memory, { passphrase: opens, cacheDir: cacheDir() })).close();
    });
  }

  it('keeps the keys of the config it does not know', async () => {
    const { repo, storage } = await createTestRepository(cacheDir());
    await repo.close();
    const memory = storage as MemoryStorage;
    const raw = decodeMsgpack(memory.store.config!) as { [key: string]: MsgpackValue | undefined };
    const withExtra = encodeMsgpack({ ...raw, future_field: 'kept' });
    const out = await rewrapStoreConfig(withExtra, PASSPHRASE, NEW, nodeCryptoProvider, { kdf: WEAK_KDF });
    expect((decodeMsgpack(out) as { future_field?: string }).future_field).toBe('kept');
  });
});
