import { describe, expect, it } from 'vitest';
import { toHex } from '../src/encoding/bytes.ts';
import { acquireLock } from '../src/repository/locks.ts';
import {
  AmbiguousLatestError,
  describeFilter,
  isEmptyFilter,
  matchesFilter,
  selectSnapshots,
  sourcesOf,
} from '../src/snapshot/filter.ts';
import type { SnapshotHeader } from '../src/snapshot/header.ts';
import { EmptyRetentionPolicyError, planPrune, prune } from '../src/snapshot/prune.ts';
import {
  AmbiguousSnapshotError,
  listSnapshots,
  resolveSnapshot,
  SnapshotNotFoundError,
  writeSnapshot,
} from '../src/snapshot/snapshots.ts';
import { MemoryRepository } from './snapshot-fixtures.ts';

function header(n: number, iso: string, extra: Partial<SnapshotHeader> = {}): SnapshotHeader {
  const id = new Uint8Array(32);
  id[0] = n;
  id[31] = n;
  return {
    id,
    time: Date.parse(iso),
    durationMs: 1,
    name: 'www',
    tags: [],
    hostname: 'h',
    username: 'u',
    source: { protocol: 's3', origin: 'host', root: '/bucket' },
    root: new Uint8Array(32),
    summary: {
      files: 0,
      directories: 1,
      symlinks: 0,
      errors: 0,
      bytes: 0,
      storedBytes: 0,
      newBlobs: 0,
      reusedEntries: 0,
    },
    ...extra,
  };
}

const a = header(0xa1, '2025-01-01T00:00:00Z', { tags: ['daily', 'prod'] });
const b = header(0xa2, '2025-01-05T00:00:00Z', { tags: ['daily'], name: 'db' });
const c = header(0xb3, '2025-01-09T00:00:00Z', { tags: ['weekly', 'prod'] });
const all = [c, a, b];

describe('snapshot filters', () => {
  it('match every condition: all tags, exact name, since inclusive, before exclusive', () => {
    expect(matchesFilter(a, { tags: ['daily', 'prod'] })).toBe(true);
    expect(matchesFilter(b, { tags: ['daily', 'prod'] })).toBe(false);
    expect(matchesFilter(b, { name: 'db' })).toBe(true);
    expect(matchesFilter(b, { name: 'd' })).toBe(false);
    expect(matchesFilter(b, { since: b.time })).toBe(true);
    expect(matchesFilter(b, { before: b.time })).toBe(false);
    expect(matchesFilter(b, { since: a.time, before: c.time })).toBe(true);
    expect(isEmptyFilter({})).toBe(true);
    expect(isEmptyFilter({ tags: [] })).toBe(true);
    expect(isEmptyFilter({ name: 'x' })).toBe(false);
    expect(describeFilter({ tags: ['daily'], since: 0 })).toBe('tag "daily", since 1970-01-01T00:00:00.000Z');
  });

  it('without references: every match, oldest first', () => {
    expect(selectSnapshots(all, []).map((s) => s.time)).toEqual([a.time, b.time, c.time]);
    expect(selectSnapshots(all, [], { tags: ['prod'] })).toEqual([a, c]);
    expect(selectSnapshots(all, [], { since: Date.parse('2025-01-02T00:00:00Z') })).toEqual([b, c]);
    expect(selectSnapshots(all, [], { tags: ['nope'] })).toEqual([]);
  });

  it('latest is the newest match; prefixes must match the filter too', () => {
    expect(selectSnapshots(all, ['latest'])).toEqual([c]);
    expect(selectSnapshots(all, ['latest'], { tags: ['daily'] })).toEqual([b]);
    expect(selectSnapshots(all, ['b3', 'A1', 'latest'])).toEqual([c, a]);
    expect(() => selectSnapshots(all, ['a2'], { tags: ['prod'] })).toThrow(
      /snapshot "a2" does not match the filter \(tag "prod"\)/,
    );
    expect(() => selectSnapshots(all, ['latest'], { tags: ['nope'] })).toThrow(SnapshotNotFoundError);
    expect(() => selectSnapshots([], ['latest'])).toThrow('the store has no snapshot');
    expect(() => selectSnapshots(all, ['ff'])).toThrow('no snapshot matches "ff"');
    expect(() => selectSnapshots(all, ['a'])).toThrow(AmbiguousSnapshotError);
    expect(() => selectSnapshots(all, ['zz'])).toThrow(/invalid snapshot reference "zz"/);
  });

  it('a source filter matches the source (protocol, origin, root) or the name given with it', () => {
    const bucketA = { protocol: 's3', origin: 'rgw:7480/a', root: '/' };
    const bucketB = { protocol: 's3', origin: 'rgw:7480/b', root: '/' };
    // Before named sources gave their name to snapshots, every bucket snapshot was named "/".
    const oldA = header(0xc1, '2025-02-01T00:00:00Z', { name: '/', source: bucketA });
    const newA = header(0xc2, '2025-02-03T00:00:00Z', { name: '@a', source: bucketA });
    const movedA = header(0xc3, '2025-02-04T00:00:00Z', { name: '@a', source: bucketB });
    const oldB = header(0xc4, '2025-02-02T00:00:00Z', { name: '/', source: bucketB });
    const snaps = [oldA, newA, movedA, oldB];
    const byInfo = { label: 's3://rgw:7480/a', info: bucketA };
    expect(selectSnapshots(snaps, [], { source: byInfo })).toEqual([oldA, newA]);
    expect(selectSnapshots(snaps, [], { source: { ...byInfo, name: '@a' } })).toEqual([oldA, newA, movedA]);
    expect(matchesFilter(oldB, { source: { label: 'x', info: { ...bucketB, root: '/p/' } } })).toBe(false);
    expect(isEmptyFilter({ source: byInfo })).toBe(false);
    expect(describeFilter({ source: byInfo })).toBe('source s3://rgw:7480/a');
    expect(selectSnapshots(snaps, ['latest'], { source: byInfo })).toEqual([newA]);
  });

  it('latest among snapshots of several sources is ambiguous: the error lists each source, newest first', () => {
    const src = (root: string) => ({ protocol: 'fs', origin: 'h', root });
    const x1 = header(0xd1, '2025-04-01T00:00:00Z', { source: src('/x') });
    const y1 = header(0xd2, '2025-04-02T00:00:00Z', { source: src('/y') });
    const x2 = header(0xd3, '2025-04-03T00:00:00Z', { source: src('/x'), tags: ['t'] });
    let thrown: unknown;
    try {
      selectSnapshots([x1, y1, x2], ['latest']);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(AmbiguousLatestError);
    const e = thrown as AmbiguousLatestError<SnapshotHeader>;
    expect(e.message).toMatch(/^"latest" is ambiguous: the snapshots come from 2 sources/);
    expect(e.sources.map((g) => [g.newest, g.count])).toEqual([
      [x2, 2],
      [y1, 1],
    ]);
    // A filter that leaves one source decides; ids are never ambiguous that way.
    expect(selectSnapshots([x1, y1, x2], ['latest'], { tags: ['t'] })).toEqual([x2]);
    expect(selectSnapshots([x1, y1, x2], ['d2'])).toEqual([y1]);
    expect(sourcesOf([x1, y1, x2]).map((g) => g.newest.source.root)).toEqual(['/x', '/y']);
  });

  it('resolveSnapshot: latest of a store holding one source, refused for several', async () => {
    const repo = new MemoryRepository();
    const one = header(0xe1, '2025-05-01T00:00:00Z', { name: '/' });
    const two = header(0xe2, '2025-05-02T00:00:00Z', { name: '@www' });
    await writeSnapshot(repo, one);
    await writeSnapshot(repo, two);
    expect((await resolveSnapshot(repo, 'latest')).id).toEqual(two.id);
    await writeSnapshot(
      repo,
      header(0xe3, '2025-05-03T00:00:00Z', { source: { protocol: 'fs', origin: 'h', root: '/' } }),
    );
    await expect(resolveSnapshot(repo, 'latest')).rejects.toThrow(AmbiguousLatestError);
    expect((await resolveSnapshot(repo, 'e2')).id).toEqual(two.id);
  });

  it('works on views with hex ids as on headers', () => {
    const views = all.map((h) => ({ ...h, id: toHex(h.id) }));
    expect(selectSnapshots(views, ['a2']).map((v) => v.id)).toEqual([toHex(b.id)]);
  });
});

describe('prune', () => {
  async function storeWith(headers: SnapshotHeader[]): Promise<MemoryRepository> {
    const repo = new MemoryRepository();
    for (const h of headers) await writeSnapshot(repo, h);
    return repo;
  }

  const other = { protocol: 'fs', origin: 'laptop', root: '/home' };
  const days = Array.from({ length: 10 }, (_, i) =>
    header(i + 1, `2025-03-${String(i + 1).padStart(2, '0')}T12:00:00Z`),
  );
  const others = Array.from({ length: 3 }, (_, i) =>
    header(0x40 + i, `2025-03-0${i + 1}T12:00:00Z`, { source: other }),
  );

  it('applies the policy per source and deletes only what no rule keeps', async () => {
    const repo = await storeWith([...days, ...others]);
    const result = await prune(repo, { policy: { daily: 3 }, clock: 'utc' });
    expect(result).toMatchObject({ kept: 6, removed: 7, dryRun: false });
    const left = (await listSnapshots(repo)).map((h) => h.id[0]);
    expect(left.sort((x, y) => x! - y!)).toEqual([0x08, 0x09, 0x0a, 0x40, 0x41, 0x42]);
    expect(result.groups.map((g) => g.source?.protocol)).toEqual(['fs', 's3']);
    expect(result.groups[1]!.keep.map((k) => k.reasons)).toEqual([['daily'], ['daily'], ['daily']]);
    // The lock is released.
    await (await acquireLock(repo, { exclusive: true })).release();
  });

  it('-dry-run decides the same and deletes nothing; grouping can be turned off', async () => {
    const repo = await storeWith([...days, ...others]);
    const dry = await prune(repo, { policy: { last: 2 }, clock: 'utc', dryRun: true });
    expect(dry).toMatchObject({ kept: 4, removed: 9, dryRun: true });
    expect(await listSnapshots(repo)).toHaveLength(13);
    const flat = planPrune([...days, ...others], { policy: { last: 2 }, groupBy: 'none' });
    expect(flat).toHaveLength(1);
    expect(flat[0]!.keep.map((k) => k.header.id[0])).toEqual([0x0a, 0x09]);
  });

  it('only snapshots matching the filter are considered', async () => {
    const tagged = days.map((h, i) => (i % 2 === 0 ? { ...h, tags: ['even'] } : h));
    const repo = await storeWith(tagged);
    const result = await prune(repo, { policy: { last: 1 }, filter: { tags: ['even'] } });
    expect(result).toMatchObject({ kept: 1, removed: 4 });
    expect(await listSnapshots(repo)).toHaveLength(6);
  });

  it('refuses an empty policy and a store locked by someone else', async () => {
    const repo = await storeWith(days);
    await expect(prune(repo, { policy: {} })).rejects.toThrow(EmptyRetentionPolicyError);
    const held = await acquireLock(repo, { exclusive: false });
    await expect(prune(repo, { policy: { last: 1 } })).rejects.toThrow(/cannot take an exclusive lock/);
    await held.release();
    expect(await listSnapshots(repo)).toHaveLength(10);
  });

  it('keeps unreadable headers and reports them', async () => {
    const repo = await storeWith(days);
    const bad = new Uint8Array(32).fill(7);
    await repo.putResource('snapshot', bad, new Uint8Array([1, 2, 3]));
    const unreadable: string[] = [];
    const result = await prune(repo, { policy: { last: 1 }, onUnreadable: (id) => unreadable.push(id) });
    expect(result.removed).toBe(9);
    expect(unreadable).toEqual([toHex(bad)]);
    expect(repo.resources.has(`snapshot:${toHex(bad)}`)).toBe(true);
  });
});
