import { describe, expect, it } from 'vitest';
import { normalizeSnapshotPath, parseSnapshotRef } from '../src/args/snapshot-ref.ts';

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
});
