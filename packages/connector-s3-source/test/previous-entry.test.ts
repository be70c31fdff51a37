/** reusableMetadata: when a listed object is the previous snapshot's entry. */
import type { PreviousEntry } from '@kloset/connector-contract';
import { describe, expect, it } from 'vitest';
import type { ListedObject } from '../src/listing.ts';
import { reusableMetadata, timestamp } from '../src/previous-entry.ts';

const listed: ListedObject = {
  key: 'p/k',
  size: 10,
  lastModifiedMs: 1_700_000_000_123,
  etag: '"0123456789abcdef0123456789abcdef"',
  storageClass: 'STANDARD_IA',
};
const previous: PreviousEntry = {
  path: '/k',
  type: 'file',
  size: 10,
  mtime: { sec: 1_700_000_000, nsec: 123_000_000 },
  changeToken: '0123456789abcdef0123456789abcdef',
  metadata: { 's3.key': 'p/k', 's3.tag.t': 'v', 's3.storage-class': 'STANDARD' },
};

describe('reusableMetadata', () => {
  it('reuses the metadata of the same key, ETag, size and LastModified, with the listed storage class', () => {
    expect(timestamp(listed.lastModifiedMs)).toEqual(previous.mtime);
    expect(reusableMetadata('p/k', listed, previous)).toEqual({
      's3.key': 'p/k',
      's3.tag.t': 'v',
      's3.storage-class': 'STANDARD_IA',
    });
    const { storageClass: _sc, ...noClass } = listed;
    expect(reusableMetadata('p/k', noClass, previous)?.['s3.storage-class']).toBe('STANDARD');
  });

  it('reuses nothing when anything differs, or without an ETag or a previous entry', () => {
    const { etag: _e, ...noEtag } = listed;
    const cases: [ListedObject, PreviousEntry | undefined, string][] = [
      [listed, undefined, 'p/k'],
      [noEtag, previous, 'p/k'],
      [listed, previous, 'p/other'],
      [{ ...listed, size: 11 }, previous, 'p/k'],
      [{ ...listed, lastModifiedMs: listed.lastModifiedMs + 1 }, previous, 'p/k'],
      [{ ...listed, lastModifiedMs: 1_700_000_000_000 }, previous, 'p/k'],
      [{ ...listed, etag: '"ffffffffffffffffffffffffffffffff"' }, previous, 'p/k'],
      [listed, { ...previous, type: 'directory' }, 'p/k'],
    ];
    for (const [l, p, key] of cases)
      expect(reusableMetadata(key, l, p), JSON.stringify([l, p, key])).toBeUndefined();
  });
});

describe('reusableMetadata of a version (versions=all)', () => {
  it('needs the same version id; an entry without s3.version-id is the null version', () => {
    const v1 = { ...previous, metadata: { ...previous.metadata, 's3.version-id': 'v1' } };
    expect(reusableMetadata('p/k', listed, v1, 'v1')).toBeDefined();
    expect(reusableMetadata('p/k', listed, v1, 'v2')).toBeUndefined();
    expect(reusableMetadata('p/k', listed, v1, 'null')).toBeUndefined();
    expect(reusableMetadata('p/k', listed, previous, 'null')).toBeDefined();
    expect(reusableMetadata('p/k', listed, previous, 'v1')).toBeUndefined();
  });
});
