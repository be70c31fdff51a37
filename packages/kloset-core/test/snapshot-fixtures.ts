/**
 * Test doubles for the engines: an in-memory BlobStore that verifies blobs like the repository
 * does (a corrupted blob fails to read), and a fixed-size chunker stub.
 */
import { createHmac, createSecretKey, randomBytes } from 'node:crypto';
import {
  ConnectorError,
  type EntryAttributes,
  type EntryType,
  type OpenedContent,
  type SourceRecord,
} from '@kloset/connector-contract';
import { type MemoryEntry, MemorySource, type MemorySourceOptions } from '@kloset/connector-contract/testing';
import type { ChunkingParams } from '../src/chunking/fastcdc.ts';
import type { BlobReadResult } from '../src/repository/blob-reader.ts';
import type {
  BlobId,
  BlobKind,
  BlobLocation,
  BlobStore,
  PutBlobResult,
} from '../src/repository/blob-store.ts';
import { MissingBlobError } from '../src/repository/errors.ts';
import type { SealedKind } from '../src/repository/resource-store.ts';
import type { EngineRepository } from '../src/snapshot/engine-repository.ts';
import type { SnapshotEntry } from '../src/snapshot/entry.ts';

const KEY = createSecretKey(Buffer.from('kloset test mac key'));

function hexOf(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** An in-memory BlobStore: blobs are "packed" 4 per fake packfile. */
export class MemoryBlobStore implements BlobStore {
  readonly blobs = new Map<string, { kind: BlobKind; data: Uint8Array; loc: BlobLocation }>();
  puts = 0;
  gets = 0;
  flushes = 0;
  #packSeq = 0;
  #inPack = 0;

  blobId(data: Uint8Array): BlobId {
    return new Uint8Array(createHmac('sha256', KEY).update(data).digest());
  }

  /** Unset by default (unknown): tests set it. */
  snapshotBlobsIndexed?: (snapshotId: Uint8Array) => boolean;
  hasBlob(kind: BlobKind, id: BlobId): boolean {
    return this.blobs.has(`${kind}:${hexOf(id)}`);
  }

  async putBlob(kind: BlobKind, data: Uint8Array): Promise<PutBlobResult> {
    this.puts++;
    const id = this.blobId(data);
    const k = `${kind}:${hexOf(id)}`;
    if (this.blobs.has(k)) return { id, stored: false, storedBytes: 0 };
    if (this.#inPack === 4) {
      this.#packSeq++;
      this.#inPack = 0;
    }
    const packfile = new Uint8Array(32);
    new DataView(packfile.buffer).setUint32(28, this.#packSeq);
    const loc: BlobLocation = {
      kind,
      id,
      packfile,
      offset: this.#inPack * 1000,
      length: data.length + 16,
      rawLength: data.length,
    };
    this.#inPack++;
    this.blobs.set(k, { kind, data: new Uint8Array(data), loc });
    return { id, stored: true, storedBytes: data.length + 16 };
  }

  async getBlob(kind: BlobKind, id: BlobId): Promise<Uint8Array> {
    this.gets++;
    const b = this.blobs.get(`${kind}:${hexOf(id)}`);
    if (b === undefined) throw new Error(`blob ${hexOf(id)} is missing`);
    if (hexOf(this.blobId(b.data)) !== hexOf(id)) {
      throw new Error(`blob ${hexOf(id)} in packfile ${hexOf(b.loc.packfile)} is corrupt: MAC mismatch`);
    }
    return b.data;
  }

  locateBlob(kind: BlobKind, id: BlobId): BlobLocation | undefined {
    return this.blobs.get(`${kind}:${hexOf(id)}`)?.loc;
  }

  async flush(): Promise<void> {
    this.flushes++;
  }

  /** Flips one byte of a stored blob's content. */
  corrupt(kind: BlobKind, id: BlobId): void {
    const b = this.blobs.get(`${kind}:${hexOf(id)}`);
    if (b === undefined) throw new Error('no such blob');
    b.data[0] = b.data[0]! ^ 0xff;
  }

  /** Removes a blob (a lost packfile). */
  remove(kind: BlobKind, id: BlobId): void {
    this.blobs.delete(`${kind}:${hexOf(id)}`);
  }

  count(kind: BlobKind): number {
    let n = 0;
    for (const b of this.blobs.values()) if (b.kind === kind) n++;
    return n;
  }
}

/** A chunker stub: cuts every `size` bytes. */
export function fixedChunker(size: number) {
  return async function* chunk(stream: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    let buf = Buffer.alloc(0);
    for await (const part of stream) {
      buf = buf.length === 0 ? Buffer.from(part) : Buffer.concat([buf, part]);
      while (buf.length >= size) {
        yield new Uint8Array(buf.subarray(0, size));
        buf = buf.subarray(size);
      }
    }
    if (buf.length > 0) yield new Uint8Array(buf);
  };
}

/** A snapshot entry with defaults. */
export function entry(
  path: string,
  type: EntryType = 'file',
  extra: Partial<SnapshotEntry> = {},
): SnapshotEntry {
  const base: EntryAttributes = { path, type, size: 0, mtime: { sec: 1_700_000_000, nsec: 5 }, metadata: {} };
  return { ...base, chunks: [], ...extra };
}

/** Drains an async iterable into an array. */
export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Small FastCDC parameters for tests: 2 KiB min, 8 KiB average, 32 KiB max. */
export const SMALL_CHUNKING: ChunkingParams = {
  algorithm: 'fastcdc-v1',
  min: 2048,
  avg: 8192,
  max: 32768,
  normalization: 2,
};

/** An in-memory EngineRepository: MemoryBlobStore plus sealed resources kept in maps. */
export class MemoryRepository extends MemoryBlobStore implements EngineRepository {
  readonly config: { chunking: ChunkingParams };
  readonly keyRing = { gear: new Uint32Array(256).map((_, i) => Math.imul(i + 1, 2654435761) >>> 0) };
  readonly resources = new Map<string, Uint8Array>();
  /** When false, `getBlobs` is absent (engines fall back to getBlob). */
  readonly coalesced: boolean;
  getBlobsCalls = 0;

  constructor(options: { coalesced?: boolean; chunking?: ChunkingParams } = {}) {
    super();
    this.config = { chunking: options.chunking ?? SMALL_CHUNKING };
    this.coalesced = options.coalesced ?? true;
    if (!this.coalesced) this.getBlobs = undefined;
  }

  async putResource(kind: SealedKind, id: Uint8Array, body: Uint8Array): Promise<void> {
    this.resources.set(`${kind}:${hexOf(id)}`, new Uint8Array(body));
  }

  async getResource(kind: SealedKind, id: Uint8Array): Promise<Uint8Array> {
    const b = this.resources.get(`${kind}:${hexOf(id)}`);
    if (b === undefined) throw new ConnectorError('not_found', `${kind} ${hexOf(id)} not found`);
    return b;
  }

  async *listResources(kind: SealedKind): AsyncIterable<Uint8Array> {
    for (const k of [...this.resources.keys()]) {
      if (k.startsWith(`${kind}:`)) yield new Uint8Array(Buffer.from(k.slice(kind.length + 1), 'hex'));
    }
  }

  async deleteResource(kind: SealedKind, id: Uint8Array): Promise<void> {
    this.resources.delete(`${kind}:${hexOf(id)}`);
  }

  newResourceId(): Uint8Array {
    return new Uint8Array(randomBytes(32));
  }

  getBlobs?: EngineRepository['getBlobs'] = async function* (
    this: MemoryRepository,
    kind: BlobKind,
    ids: readonly BlobId[],
  ): AsyncGenerator<BlobReadResult> {
    this.getBlobsCalls++;
    // Results come back in reverse order: engines must not rely on the order of `ids`.
    const results: BlobReadResult[] = [];
    for (const [index, id] of ids.entries()) {
      try {
        results.push({ index, id, ok: true, data: await this.getBlob(kind, id) });
      } catch (err) {
        results.push({ index, id, ok: false, error: err as Error });
      }
    }
    yield* results.reverse();
  };

  async *listPackfiles(): AsyncIterable<{ id: Uint8Array; size: number }> {
    const seen = new Map<string, Uint8Array>();
    for (const b of this.blobs.values()) seen.set(hexOf(b.loc.packfile), b.loc.packfile);
    for (const [h, id] of seen) if (!this.lostPackfiles.has(h)) yield { id, size: 4000 };
  }

  /** Packfiles (hex) to report as absent from storage (their blobs fail to read). */
  readonly lostPackfiles = new Set<string>();

  override async getBlob(kind: BlobKind, id: BlobId): Promise<Uint8Array> {
    const loc = this.locateBlob(kind, id);
    if (loc !== undefined && this.lostPackfiles.has(hexOf(loc.packfile))) {
      throw new MissingBlobError(id, 'its packfile is not in the store', loc.packfile);
    }
    return super.getBlob(kind, id);
  }
}

/**
 * A MemorySource whose file records open through `open(record)` instead (a slow server, a failing
 * GetObject, ...); `record.open()` is the plain MemorySource open (counted in `opened`).
 */
export class OpenHookSource extends MemorySource {
  readonly #hook: (record: SourceRecord, source: OpenHookSource) => Promise<OpenedContent>;

  constructor(
    entries: readonly MemoryEntry[],
    options: MemorySourceOptions,
    open: (record: SourceRecord, source: OpenHookSource) => Promise<OpenedContent>,
  ) {
    super(entries, options);
    this.#hook = open;
  }

  override async *scan(signal?: AbortSignal): AsyncIterable<SourceRecord> {
    for await (const r of super.scan(signal)) {
      yield r.type === 'file' ? { ...r, open: () => this.#hook(r, this) } : r;
    }
  }
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
