import { describe, expect, it } from 'vitest';
import { normalizeSnapshotPath, parseSnapshotRef, pickSnapshot } from '../src/args/snapshot-ref.ts';

describe('SNAPSHOT[:PATH]', () => {
  it('parses ids, latest and paths', () => {
    expect(parseSnapshotRef('ABCD')).toEqual({ snapshot: 'abcd', path: '/', hasPath: false });
    expect(parseSnapshotRef('latest:/etc/')).toEqual({ snapshot: 'latest', path: '/etc', hasPath: true });
    expect(parseSnapshotRef('ab:etc//x/./y')).toEqual({ snapshot: 'ab', path: '/etc/x/y', hasPath: true });
    expect(parseSnapshotRef('ab:')).toEqual({ snapshot: 'ab', path: '/', hasPath: true });
    expect(parseSnapshotRef('ab:/a:b')).toEqual({ snapshot: 'ab', path: '/a:b', hasPath: true });
  });

  it('refuses what is not an id', () => {
    expect(() => parseSnapshotRef(':/x')).toThrow(/id is missing/);
    expect(() => parseSnapshotRef('xyz')).toThrow(/not a snapshot id/);
    expect(() => parseSnapshotRef('a'.repeat(65))).toThrow(/not a snapshot id/);
    expect(() => normalizeSnapshotPath('/a/../b')).toThrow(/"\.\."/);
  });

  it('picks by unique prefix or latest, and says why not', () => {
    const snaps = [
      { id: 'aa11', time: 1 },
      { id: 'aa22', time: 3 },
      { id: 'bb33', time: 2 },
    ];
    expect(pickSnapshot(snaps, 'latest').id).toBe('aa22');
    expect(pickSnapshot(snaps, 'bb').id).toBe('bb33');
    expect(() => pickSnapshot(snaps, 'aa')).toThrow(/ambiguous: aa11, aa22/);
    expect(() => pickSnapshot(snaps, 'cc')).toThrow(/no snapshot with id cc/);
    expect(() => pickSnapshot([], 'latest')).toThrow(/no snapshots/);
  });
});
