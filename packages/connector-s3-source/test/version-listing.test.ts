/**
 * pageVersions: the SDK splits a ListObjectVersions answer's interleaved <Version> and
 * <DeleteMarker> elements into two lists; they are merged back into listing order (keys in UTF-8
 * binary order, each key's versions newest first, the latest first), keys URL-decoded.
 */

import { pageVersions } from '@kloset/s3-common';
import { describe, expect, it } from 'vitest';

const at = (s: number): Date => new Date(s * 1000);

describe('pageVersions', () => {
  it('merges versions and delete markers back into listing order', () => {
    const out = pageVersions({
      $metadata: {},
      EncodingType: 'url',
      Versions: [
        { Key: 'a', VersionId: 'a2', IsLatest: false, LastModified: at(20), Size: 2, ETag: '"e"' },
        { Key: 'a', VersionId: 'a1', IsLatest: false, LastModified: at(10), Size: 1 },
        { Key: 'b%20c', VersionId: 'null', IsLatest: true, LastModified: at(5), Size: 3 },
        { Key: '\u00e9', VersionId: 'e1', IsLatest: true, LastModified: at(1), Size: 4 },
      ],
      DeleteMarkers: [
        { Key: 'a', VersionId: 'a3', IsLatest: true, LastModified: at(30) },
        { Key: 'b', VersionId: 'b1', IsLatest: true, LastModified: at(7) },
      ],
    });
    expect(out.map((v) => [v.key, v.versionId, v.isLatest, v.deleteMarker, v.size])).toEqual([
      ['a', 'a3', true, true, 0],
      ['a', 'a2', false, false, 2],
      ['a', 'a1', false, false, 1],
      ['b', 'b1', true, true, 0],
      ['b c', 'null', true, false, 3],
      ['\u00e9', 'e1', true, false, 4],
    ]);
    expect(out[1]).toMatchObject({ etag: '"e"', lastModifiedMs: 20_000 });
  });

  it('puts the latest first when a version and a delete marker share a LastModified', () => {
    const out = pageVersions({
      $metadata: {},
      Versions: [{ Key: 'k', VersionId: 'v', IsLatest: false, LastModified: at(9), Size: 1 }],
      DeleteMarkers: [{ Key: 'k', VersionId: 'd', IsLatest: true, LastModified: at(9) }],
    });
    expect(out.map((v) => v.versionId)).toEqual(['d', 'v']);
  });
});
