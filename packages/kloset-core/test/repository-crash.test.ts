import { FaultInjectingStorage } from '@kloset/connector-contract';
import { MemoryStorage } from '@kloset/connector-contract/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toHex } from '../src/encoding/bytes.ts';
import { BlobKind } from '../src/repository/blob-store.ts';
import type { Repository } from '../src/repository/repository.ts';
import { createTestRepository, openTestRepository, pseudoRandom, tempDir } from './repository-helpers.ts';

let dir: { path: string; cleanup: () => void };
const toClose: Repository[] = [];
beforeEach(() => {
  dir = tempDir();
});
afterEach(async () => {
  for (const r of toClose.splice(0)) await r.close();
  dir.cleanup();
});

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('crash safety (FORMAT.md §10)', () => {
  it('a writer that dies after uploading packfiles, before its state, leaves the store readable and the next writer working', async () => {
    const storage = new MemoryStorage();
    const cacheDir = `${dir.path}/cache`;
    const { repo: first } = await createTestRepository(cacheDir, { packfileSize: 4096 }, storage);
    const kept = pseudoRandom(1, 3000);
    const keptId = (await first.putBlob(BlobKind.Chunk, kept)).id;
    await first.flush();
    await first.close();
    const statesBefore = storage.store.resources.state.size;

    // The doomed writer: same cache directory, uploads some packfiles, never flushes, and is dropped
    // without close (its cache connection stays open, as a killed process's file would).
    const doomed = await openTestRepository(storage, cacheDir);
    const lost = Array.from({ length: 30 }, (_, i) => pseudoRandom(100 + i, 3000));
    for (const d of lost) await doomed.putBlob(BlobKind.Chunk, d);
    await until(() => storage.store.resources.packfile.size >= 20, 'uploads of the doomed writer');
    const lostIds = lost.map((d) => doomed.blobId(d));
    expect(storage.store.resources.state.size).toBe(statesBefore);

    const next = await openTestRepository(storage, cacheDir);
    toClose.push(next);
    expect(await next.getBlob(BlobKind.Chunk, keptId)).toEqual(kept);
    for (const id of lostIds) expect(next.hasBlob(BlobKind.Chunk, id)).toBe(false);
    for (const d of lost) expect((await next.putBlob(BlobKind.Chunk, d)).stored).toBe(true);
    await next.flush();
    for (const [i, id] of lostIds.entries()) expect(await next.getBlob(BlobKind.Chunk, id)).toEqual(lost[i]);

    // The orphans are in the store but in no state; a fresh client agrees.
    const listed = [];
    for await (const p of next.listPackfiles()) listed.push(toHex(p.id));
    const indexed = new Set([...next.indexedPackfiles()].map(toHex));
    expect(listed.length).toBeGreaterThan(indexed.size);
    const fresh = await openTestRepository(storage, `${dir.path}/fresh`);
    toClose.push(fresh);
    for (const [i, id] of lostIds.entries()) expect(await fresh.getBlob(BlobKind.Chunk, id)).toEqual(lost[i]);
    expect(await fresh.getBlob(BlobKind.Chunk, keptId)).toEqual(kept);
  });

  it('an interrupted state write is invisible, and the next writer stores the blobs again', async () => {
    const memory = new MemoryStorage();
    const { repo: setup } = await createTestRepository(`${dir.path}/a`, {}, memory);
    await setup.close();
    const faulty = new FaultInjectingStorage(memory, {
      rules: [{ op: 'put', kind: 'state', nth: [1], fault: { type: 'error', code: 'unavailable' } }],
    });
    const writer = await openTestRepository(faulty, `${dir.path}/a`);
    const data = pseudoRandom(5, 10_000);
    const { id } = await writer.putBlob(BlobKind.Chunk, data);
    await expect(writer.flush()).rejects.toThrow();
    expect(memory.store.resources.packfile.size).toBe(1);
    expect(memory.store.resources.state.size).toBe(0);
    await writer.close();

    const next = await openTestRepository(memory, `${dir.path}/a`);
    toClose.push(next);
    expect(next.hasBlob(BlobKind.Chunk, id)).toBe(false);
    expect((await next.putBlob(BlobKind.Chunk, data)).stored).toBe(true);
    await next.flush();
    expect(await next.getBlob(BlobKind.Chunk, id)).toEqual(data);
    expect(memory.store.resources.state.size).toBe(1);
  });

  it('a state put that succeeded but whose answer was lost is consistent for the next writer', async () => {
    const memory = new MemoryStorage();
    const { repo: setup } = await createTestRepository(`${dir.path}/a`, {}, memory);
    await setup.close();
    const faulty = new FaultInjectingStorage(memory, {
      rules: [{ op: 'put', kind: 'state', nth: [1], fault: { type: 'error', when: 'after' } }],
    });
    const writer = await openTestRepository(faulty, `${dir.path}/a`);
    const data = pseudoRandom(6, 10_000);
    const { id } = await writer.putBlob(BlobKind.Chunk, data);
    await expect(writer.flush()).rejects.toThrow();
    await writer.close();
    const next = await openTestRepository(memory, `${dir.path}/a`);
    toClose.push(next);
    expect(next.hasBlob(BlobKind.Chunk, id)).toBe(true);
    expect(await next.getBlob(BlobKind.Chunk, id)).toEqual(data);
    expect((await next.putBlob(BlobKind.Chunk, data)).stored).toBe(false);
  });

  it('close without flush drops pending blobs and writes no state', async () => {
    const storage = new MemoryStorage();
    const { repo } = await createTestRepository(`${dir.path}/a`, {}, storage);
    const { id } = await repo.putBlob(BlobKind.Tree, pseudoRandom(9, 500));
    await repo.close();
    expect(storage.store.resources.state.size).toBe(0);
    expect(storage.store.resources.packfile.size).toBe(0);
    const next = await openTestRepository(storage, `${dir.path}/a`);
    toClose.push(next);
    expect(next.hasBlob(BlobKind.Tree, id)).toBe(false);
  });
});
