/** Shared helpers for the packfile, repository and lock tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {
  ByteRange,
  PutData,
  ResourceInfo,
  ResourceKind,
  Storage,
  StorageMode,
} from '@kloset/connector-contract';
import { MemoryStorage } from '@kloset/connector-contract/testing';
import { nodeCryptoProvider } from '../src/crypto/node-provider.ts';
import { createStoreConfig } from '../src/format/config.ts';
import {
  type CreateRepositoryOptions,
  type OpenRepositoryOptions,
  Repository,
} from '../src/repository/repository.ts';

/** Argon2id cost small enough for tests. */
export const WEAK_KDF = { memoryKiB: 64, passes: 1, parallelism: 1 } as const;
export const PASSPHRASE = 'correct horse battery staple';

/** A fresh temporary directory, removed by `cleanup`. */
export function tempDir(prefix = 'kloset-test-'): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** Deterministic pseudo-random bytes (xorshift32), different for each seed. */
export function pseudoRandom(seed: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed * 2654435761 + 1 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Options for a test repository: weak KDF, given cache dir. */
export function createOptions(
  cacheDir: string,
  extra: Partial<CreateRepositoryOptions> = {},
): CreateRepositoryOptions {
  return {
    passphrase: PASSPHRASE,
    kdf: WEAK_KDF,
    allowWeakKdf: true,
    cacheDir,
    ...extra,
  } as CreateRepositoryOptions;
}

/** Creates a store on a new MemoryStorage (or the given one) and opens it. */
export async function createTestRepository(
  cacheDir: string,
  extra: Partial<CreateRepositoryOptions> = {},
  storage: Storage = new MemoryStorage(),
): Promise<{ repo: Repository; storage: Storage }> {
  const repo = await Repository.create(storage, createOptions(cacheDir, extra));
  return { repo, storage };
}

/** Opens the store of `storage` with the test passphrase. */
export function openTestRepository(
  storage: Storage,
  cacheDir: string,
  extra: Partial<OpenRepositoryOptions> = {},
): Promise<Repository> {
  return Repository.open(storage, { passphrase: PASSPHRASE, cacheDir, ...extra });
}

/** A key ring and provider for packfile-level tests, from a fresh (not stored) config. */
export async function testKeys(plaintext = false) {
  const created = await createStoreConfig(
    plaintext ? { plaintext: true } : { passphrase: PASSPHRASE, kdf: WEAK_KDF, allowWeakKdf: true },
    nodeCryptoProvider,
  );
  return { provider: nodeCryptoProvider, keyRing: created.keyRing };
}

/** Every byte of every resource of a MemoryStorage, and its config. */
export function allStoredBytes(storage: MemoryStorage): Uint8Array[] {
  const out: Uint8Array[] = [];
  if (storage.store.config) out.push(storage.store.config);
  for (const map of Object.values(storage.store.resources)) out.push(...map.values());
  return out;
}

/** True if `needle` occurs in `haystack`. */
export function containsBytes(haystack: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).includes(Buffer.from(needle));
}

/** A Storage that forwards to another and records every call (`op kind/id [range]`). */
export class RecordingStorage implements Storage {
  readonly inner: Storage;
  readonly calls: string[] = [];
  /** When set, puts of this kind wait for `release()`. */
  holdPuts: ResourceKind | undefined;
  #held: (() => void)[] = [];
  /** Puts in progress right now, and the most seen at once. */
  activePuts = 0;
  maxActivePuts = 0;

  constructor(inner: Storage) {
    this.inner = inner;
  }
  get location(): string {
    return this.inner.location;
  }
  get mode(): StorageMode {
    return this.inner.mode;
  }
  /** Lets every held put go on. */
  release(): void {
    this.holdPuts = undefined;
    for (const r of this.#held.splice(0)) r();
  }
  /** Puts waiting to be released. */
  get heldPuts(): number {
    return this.#held.length;
  }
  create(config: Uint8Array): Promise<void> {
    this.calls.push('create');
    return this.inner.create(config);
  }
  open(): Promise<Uint8Array> {
    this.calls.push('open');
    return this.inner.open();
  }
  async put(kind: ResourceKind, id: string, data: PutData): Promise<void> {
    this.calls.push(`put ${kind}/${id}`);
    this.activePuts++;
    this.maxActivePuts = Math.max(this.maxActivePuts, this.activePuts);
    try {
      if (this.holdPuts === kind) await new Promise<void>((r) => this.#held.push(r));
      await this.inner.put(kind, id, data);
    } finally {
      this.activePuts--;
    }
  }
  get(kind: ResourceKind, id: string, range?: ByteRange): Promise<Uint8Array> {
    this.calls.push(`get ${kind}/${id}${range ? ` ${range.offset}+${range.length}` : ''}`);
    return this.inner.get(kind, id, range);
  }
  list(kind: ResourceKind): AsyncIterable<ResourceInfo> {
    this.calls.push(`list ${kind}`);
    return this.inner.list(kind);
  }
  delete(kind: ResourceKind, id: string): Promise<void> {
    this.calls.push(`delete ${kind}/${id}`);
    return this.inner.delete(kind, id);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
