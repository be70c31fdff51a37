/**
 * repair on a real Repository over MemoryStorage: for each kind of damage (a deleted packfile, a
 * deleted state, a state with a flipped byte, a corrupt blob, a flipped byte in a packfile's own
 * index), repair leaves a store that a new client checks clean (full check), whose snapshots
 * restore what is left byte-identical, and names each file whose data is gone.
 */
import { type MemoryEntry, MemorySource, MemoryStorage } from '@kloset/connector-contract/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backup } from '../src/backup/backup.ts';
import { check } from '../src/check/check.ts';
import { toHex } from '../src/encoding/bytes.ts';
import { repair } from '../src/repair/repair.ts';
import { DATA_LOST_ERROR, REPAIRED_TAG } from '../src/repair/repair-options.ts';
import { BlobKind } from '../src/repository/blob-store.ts';
import type { Repository } from '../src/repository/repository.ts';
import type { SnapshotHeader } from '../src/snapshot/header.ts';
import { readFile } from '../src/snapshot/read-file.ts';
import { listSnapshots } from '../src/snapshot/snapshots.ts';
import { TreeReader } from '../src/snapshot/tree-reader.ts';
import { createTestRepository, openTestRepository, pseudoRandom, tempDir } from './repository-helpers.ts';

const SMALL = {
  // Every chunk but a file's last is at least 1024 bytes: it fills a packfile alone. A file's last
  // chunk can be shorter and share its packfile with another short blob (/a's and /d/c's last
  // chunks share one in about 1 store in 15): the tests lose the packfile of /a's first chunk.
  packfileSize: 1024,
  chunking: { min: 1024, avg: 2048, max: 4096, normalization: 2 },
} as const;
/** Packfiles holding several chunks, of several files. */
const SHARED = { ...SMALL, packfileSize: 64 * 1024 } as const;

const entries: MemoryEntry[] = [
  { path: '/a', type: 'file', bytes: pseudoRandom(1, 9_000) },
  { path: '/b', type: 'file', bytes: pseudoRandom(2, 9_000) },
  { path: '/d', type: 'directory' },
  { path: '/d/c', type: 'file', bytes: pseudoRandom(3, 5_000) },
];
const bytesOf = (path: string) =>
  Buffer.from((entries.find((e) => e.path === path) as { bytes: Uint8Array }).bytes);

let dir: { path: string; cleanup: () => void };
let n = 0;
const open: Repository[] = [];
beforeEach(() => {
  dir = tempDir('kloset-repair-');
});
afterEach(async () => {
  for (const r of open.splice(0)) await r.close();
  dir.cleanup();
});
const cache = () => `${dir.path}/cache-${++n}`;
const track = (r: Repository) => {
  open.push(r);
  return r;
};
const fresh = async (storage: MemoryStorage) => track(await openTestRepository(storage, cache()));

async function store(extra: object = SMALL) {
  const storage = new MemoryStorage();
  const { repo } = await createTestRepository(cache(), extra, storage);
  track(repo);
  const header = (await backup(repo, new MemorySource(entries))).header;
  return { storage, repo, header };
}

/** The packfiles holding the chunks of `path`. */
async function chunkPacks(repo: Repository, header: SnapshotHeader, path: string): Promise<string[]> {
  const e = await new TreeReader(repo, header.root).get(path, 'file');
  if (e === undefined) throw new Error(`no ${path}`);
  return e.chunks.map((c) => toHex(repo.locateBlob(BlobKind.Chunk, c.id)!.packfile));
}

async function content(repo: Repository, header: SnapshotHeader, path: string): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const part of readFile(repo, header, path)) parts.push(part);
  return Buffer.concat(parts);
}

/** A full check by a new client. */
async function freshCheck(storage: MemoryStorage) {
  const repo = await fresh(storage);
  const r = await check(repo);
  return { ok: r.ok, problems: r.reports.map((p) => p.message) };
}

/** Every file of every snapshot, seen by a new client: its content or its error. */
async function restoreAll(storage: MemoryStorage): Promise<Map<string, Buffer | string>> {
  const repo = await fresh(storage);
  const out = new Map<string, Buffer | string>();
  for (const h of await listSnapshots(repo)) {
    for await (const e of new TreeReader(repo, h.root).subtree('/')) {
      if (e.type !== 'file') continue;
      out.set(e.path, e.error ?? (await content(repo, h, e.path)));
    }
  }
  return out;
}

function flip(bytes: Uint8Array, at: number): void {
  bytes[at] = bytes[at]! ^ 0x01;
}

describe('repair', () => {
  it('a deleted packfile: the file is kept without content, named; the rest restores; check is clean', async () => {
    const { storage, repo, header } = await store();
    const lost = (await chunkPacks(repo, header, '/a'))[0]!;
    expect(repo.indexedBlobs(Buffer.from(lost, 'hex'))).toHaveLength(1); // no other file's blob
    await storage.delete('packfile', lost);
    expect((await freshCheck(storage)).ok).toBe(false);

    const r = await repair(await fresh(storage));
    expect(r.packfilesMissing).toBe(1);
    expect(r.notes.map((x) => x.kind)).toEqual(['missing-packfile']);
    expect(r.snapshotsRepaired).toBe(1);
    expect(r.filesLost).toBe(1);
    expect(r.dataLost).toBe(true);
    expect(r.losses).toHaveLength(1);
    expect(r.losses[0]).toMatchObject({ kind: 'file', path: '/a', snapshot: toHex(header.id) });
    expect(r.losses[0]!.message).toMatch(/^\/a in snapshot [0-9a-f]{8}: its content is lost/);

    expect(await freshCheck(storage)).toEqual({ ok: true, problems: [] });
    const after = await listSnapshots(await fresh(storage));
    expect(after).toHaveLength(1);
    const h = after[0]!;
    expect(toHex(h.id)).not.toBe(toHex(header.id)); // a new header; the old one is gone
    expect(r.repaired).toEqual([{ from: toHex(header.id), to: toHex(h.id) }]);
    expect(h).toMatchObject({ name: header.name, time: header.time, source: header.source });
    expect(h.tags).toContain(REPAIRED_TAG);
    expect(h.summary).toMatchObject({ files: 3, directories: 2, errors: 1 });
    const files = await restoreAll(storage);
    expect(files.get('/a')).toBe(DATA_LOST_ERROR);
    expect(files.get('/b')).toEqual(bytesOf('/b'));
    expect(files.get('/d/c')).toEqual(bytesOf('/d/c'));

    // A second run finds nothing to do.
    const again = await repair(await fresh(storage));
    expect(again).toMatchObject({ dataLost: false, snapshotsRepaired: 0, statesWritten: 0, notes: [] });

    // The next backup stores the lost file again.
    const repo2 = await fresh(storage);
    const next = (await backup(repo2, new MemorySource(entries))).header;
    expect(await content(repo2, next, '/a')).toEqual(bytesOf('/a'));
    expect((await freshCheck(storage)).ok).toBe(true);
  });

  it('keeps a snapshot whose lost chunks a later backup stored again', async () => {
    const { storage, repo, header } = await store();
    const lost = (await chunkPacks(repo, header, '/a'))[0]!;
    await storage.delete('packfile', lost);
    const second = (await backup(await fresh(storage), new MemorySource(entries))).header;
    const r = await repair(await fresh(storage));
    expect(r).toMatchObject({ packfilesMissing: 1, snapshotsRepaired: 0, dataLost: false, losses: [] });
    expect((await freshCheck(storage)).ok).toBe(true);
    const repo2 = await fresh(storage);
    for (const h of [header, second]) expect(await content(repo2, h, '/a')).toEqual(bytesOf('/a'));
  });

  it('a deleted state: its packfiles are listed again from their own index, nothing is lost', async () => {
    const { storage, header } = await store();
    const state = [...storage.store.resources.state.keys()][0]!;
    await storage.delete('state', state);
    expect((await freshCheck(storage)).ok).toBe(false);
    const r = await repair(await fresh(storage));
    expect(r.packfilesIndexed).toBe(storage.store.resources.packfile.size);
    expect(r).toMatchObject({ dataLost: false, snapshotsRepaired: 0, corruptStates: 0 });
    expect(r.statesWritten).toBeGreaterThan(0);
    expect(await freshCheck(storage)).toEqual({ ok: true, problems: [] });
    const files = await restoreAll(storage);
    for (const p of ['/a', '/b', '/d/c']) expect(files.get(p)).toEqual(bytesOf(p));
    expect(toHex((await listSnapshots(await fresh(storage)))[0]!.id)).toBe(toHex(header.id));
  });

  it('lists a packfile again across several states when it holds more blobs than a state may', async () => {
    const { storage } = await store(SHARED);
    for (const id of [...storage.store.resources.state.keys()]) await storage.delete('state', id);
    const repo = track(await openTestRepository(storage, cache(), { stateMaxBlobs: 2 }));
    const r = await repair(repo);
    const blobs = r.notes.reduce((sum, x) => sum + Number(/\((\d+) blobs\)/.exec(x.message)![1]), 0);
    expect(blobs).toBeGreaterThan(4);
    expect(r.statesWritten).toBe(Math.ceil(blobs / 2));
    expect(storage.store.resources.state.size).toBe(r.statesWritten);
    expect(await freshCheck(storage)).toEqual({ ok: true, problems: [] });
    const files = await restoreAll(storage);
    for (const p of ['/a', '/b', '/d/c']) expect(files.get(p)).toEqual(bytesOf(p));
  });

  for (const client of ['a warm cache', 'a new client'] as const) {
    it(`a state with a flipped byte (${client}): removed, its packfiles listed again, nothing lost`, async () => {
      const { storage, repo } = await store();
      const [stateId, bytes] = [...storage.store.resources.state.entries()][0]!;
      flip(bytes, bytes.length - 5);
      const r = await repair(client === 'a warm cache' ? repo : await fresh(storage));
      expect(r.corruptStates).toBe(1);
      expect(r.notes[0]).toMatchObject({ kind: 'corrupt-state', id: stateId });
      expect(storage.store.resources.state.has(stateId)).toBe(false);
      expect(r).toMatchObject({ dataLost: false, snapshotsRepaired: 0 });
      expect(r.packfilesIndexed).toBe(storage.store.resources.packfile.size);
      expect(await freshCheck(storage)).toEqual({ ok: true, problems: [] });
      const files = await restoreAll(storage);
      for (const p of ['/a', '/b', '/d/c']) expect(files.get(p)).toEqual(bytesOf(p));
    });
  }

  it('a corrupt blob: its packfile goes, its good blobs are stored again, only its file is lost', async () => {
    const { storage, repo, header } = await store(SHARED);
    const e = await new TreeReader(repo, header.root).get('/a', 'file');
    const loc = repo.locateBlob(BlobKind.Chunk, e!.chunks[0]!.id)!;
    const packHex = toHex(loc.packfile);
    const pack = storage.store.resources.packfile.get(packHex)!;
    const blobsInPack = repo.indexedBlobs(loc.packfile).length;
    expect(blobsInPack).toBeGreaterThan(2); // other files' chunks share it
    flip(pack, loc.offset + 20);
    expect((await freshCheck(storage)).ok).toBe(false);

    const r = await repair(await fresh(storage));
    expect(r).toMatchObject({ blobsLost: 1, blobsSalvaged: blobsInPack - 1, packfilesDeleted: 1 });
    expect(r.notes.map((x) => x.kind)).toEqual(['corrupt-blobs']);
    expect(storage.store.resources.packfile.has(packHex)).toBe(false);
    expect(r.losses.map((l) => l.path)).toEqual(['/a']);
    expect(await freshCheck(storage)).toEqual({ ok: true, problems: [] });
    const files = await restoreAll(storage);
    expect(files.get('/a')).toBe(DATA_LOST_ERROR);
    expect(files.get('/b')).toEqual(bytesOf('/b'));
    expect(files.get('/d/c')).toEqual(bytesOf('/d/c'));
  });

  it('-fast does not read blobs: a corrupt blob stays unnoticed', async () => {
    const { storage, repo, header } = await store(SHARED);
    const e = await new TreeReader(repo, header.root).get('/a', 'file');
    const loc = repo.locateBlob(BlobKind.Chunk, e!.chunks[0]!.id)!;
    flip(storage.store.resources.packfile.get(toHex(loc.packfile))!, loc.offset + 20);
    const r = await repair(await fresh(storage), { fast: true });
    expect(r).toMatchObject({ fast: true, blobsLost: 0, packfilesDeleted: 0, dataLost: false });
  });

  it("a flipped byte in a packfile's own index: its blobs are salvaged through the states", async () => {
    const { storage, repo, header } = await store(SHARED);
    const packHex = (await chunkPacks(repo, header, '/b'))[0]!;
    const pack = storage.store.resources.packfile.get(packHex)!;
    flip(pack, pack.length - 40); // inside the sealed index, just before the footer
    const r = await repair(await fresh(storage));
    expect(r.notes.map((x) => x.kind)).toEqual(['unreadable-packfile']);
    expect(r).toMatchObject({ packfilesDeleted: 1, packfilesLost: 0, blobsLost: 0, dataLost: false });
    expect(r.blobsSalvaged).toBeGreaterThan(0);
    expect(await freshCheck(storage)).toEqual({ ok: true, problems: [] });
    const files = await restoreAll(storage);
    for (const p of ['/a', '/b', '/d/c']) expect(files.get(p)).toEqual(bytesOf(p));
  });

  it('an unreadable snapshot header is removed and named', async () => {
    const { storage } = await store();
    const second = (await backup(await fresh(storage), new MemorySource(entries))).header;
    const bytes = storage.store.resources.snapshot.get(toHex(second.id))!;
    flip(bytes, bytes.length - 3);
    const r = await repair(await fresh(storage));
    expect(r).toMatchObject({ snapshotsRemoved: 1, dataLost: true });
    expect(r.losses[0]).toMatchObject({ kind: 'snapshot', snapshot: toHex(second.id) });
    expect(storage.store.resources.snapshot.has(toHex(second.id))).toBe(false);
    expect((await freshCheck(storage)).ok).toBe(true);
  });

  it('a lost tree node: the entries below it are dropped, named by their first path', async () => {
    const storage = new MemoryStorage();
    const { repo } = await createTestRepository(cache(), SMALL, storage);
    track(repo);
    const many: MemoryEntry[] = [{ path: '/x', type: 'directory' }];
    for (let i = 0; i < 2500; i++)
      many.push({ path: `/x/f${String(i).padStart(4, '0')}`, type: 'file', bytes: new Uint8Array(0) });
    const header = (await backup(repo, new MemorySource(many))).header;
    // A leaf (not the root): the tree has more than one level with 2,500 entries.
    const root = repo.locateBlob(BlobKind.Tree, header.root)!;
    const leaves = [...storage.store.resources.packfile.keys()].filter((k) => k !== toHex(root.packfile));
    let dropped: string | undefined;
    for (const k of leaves) {
      if (repo.indexedBlobs(Buffer.from(k, 'hex')).some((b) => b.kind === BlobKind.Tree)) {
        dropped = k;
        break;
      }
    }
    await storage.delete('packfile', dropped!);
    const r = await repair(await fresh(storage));
    expect(r.snapshotsRepaired).toBe(1);
    expect(r.entriesDropped).toBeGreaterThan(0);
    expect(r.losses[0]).toMatchObject({ kind: 'entries' });
    expect(r.losses[0]!.path).toMatch(/^\/(x(\/f\d{4})?)?$/); // the first entry below the lost leaf
    expect(await freshCheck(storage)).toEqual({ ok: true, problems: [] });
    const h = (await listSnapshots(await fresh(storage)))[0]!;
    expect(h.summary.files + h.summary.directories + r.entriesDropped).toBe(2502);
    expect(h.summary.errors).toBe(r.entriesDropped);
  });

  it('-dry-run writes nothing and reports what a run would', async () => {
    const { storage, repo, header } = await store();
    const lost = (await chunkPacks(repo, header, '/a'))[0]!;
    await storage.delete('packfile', lost);
    const state = [...storage.store.resources.state.keys()][0]!;
    const [, stateBytes] = [...storage.store.resources.state.entries()][0]!;
    flip(stateBytes, stateBytes.length - 5);
    const snapshot = (kind: 'state' | 'packfile' | 'snapshot' | 'lock') => [
      ...storage.store.resources[kind].keys(),
    ];
    const before = { s: snapshot('state'), p: snapshot('packfile'), h: snapshot('snapshot') };
    const dry = await repair(await fresh(storage), { dryRun: true });
    expect({ s: snapshot('state'), p: snapshot('packfile'), h: snapshot('snapshot') }).toEqual(before);
    expect(snapshot('lock')).toEqual([]);
    expect(dry.notes.find((x) => x.id === state)?.message).toMatch(/would be removed/);
    const real = await repair(await fresh(storage));
    const pick = (r: typeof dry) => ({
      corrupt: r.corruptStates,
      indexed: r.packfilesIndexed,
      repaired: r.snapshotsRepaired,
      lost: r.losses.map((l) => l.path),
    });
    expect(pick(dry)).toEqual(pick(real));
    expect((await freshCheck(storage)).ok).toBe(true);
  });
});
