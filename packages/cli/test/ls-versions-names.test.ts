/**
 * The names `ls -versions` reads, repeated in the CLI (src/commands/ls-versions.ts), checked
 * against the S3 connectors' own: the metadata keys, the versions directory and the mapping from a
 * plain-tree path to its key's versions directory.
 */
import * as s3 from '@kloset/s3-common';
import { describe, expect, it } from 'vitest';
import * as cli from '../src/commands/ls-versions.ts';

describe('ls -versions names', () => {
  it("are the S3 connectors' metadata keys and versions directory", () => {
    expect(cli.META_KEY).toBe(s3.META_KEY);
    expect(cli.META_ETAG).toBe(s3.META_ETAG);
    expect(cli.META_VERSION_ID).toBe(s3.META_VERSION_ID);
    expect(cli.META_IS_LATEST).toBe(s3.META_IS_LATEST);
    expect(cli.META_LAST_MODIFIED).toBe(s3.META_LAST_MODIFIED);
    expect(cli.META_DELETE_MARKER).toBe(s3.META_DELETE_MARKER);
    expect(cli.VERSIONS_DIR).toBe(s3.VERSIONS_DIR);
  });

  it('map a path to the directory s3-common gives its key, in plain, escaped and twin forms', () => {
    const keys = ['a', 'docs/a.txt', 'x/50%off', 'x/%lead', 'dir/', 'a//b', 'p/.', 'p/..', 'q/%'];
    for (const key of keys) {
      const segments = key.split('/');
      const last = segments.pop()!;
      const parents = segments.map(s3.encodeSegment);
      const dir = `/${s3.versionDirNames(key).join('/')}`;
      // The file's plain path, and its twin form (a key that is also a folder).
      const plain = `/${[...parents, s3.encodeSegment(last)].join('/')}`;
      const twin = `/${[...parents, s3.encodeFileTwin(last)].join('/')}`;
      expect(cli.versionDirOfPath(plain), key).toBe(dir);
      expect(cli.versionDirOfPath(twin), key).toBe(dir);
      expect(s3.versionDirOfPath(plain), key).toBe(dir);
      expect(s3.versionDirOfPath(twin), key).toBe(dir);
    }
    expect(cli.versionDirOfPath('/')).toBeUndefined();
  });

  it("give a key directory's plain-tree name as s3-common encodes its key's last segment", () => {
    const segments = ['a', 'a.txt', '50%off', '%lead', '', '.', '..', '%', 'nul\0x'];
    for (const segment of segments) {
      expect(cli.keyNameOfVersionDir(s3.encodeFileTwin(segment)), segment).toBe(s3.encodeSegment(segment));
    }
    for (const folder of ['a', '%', '%50%25off', '%%versions']) {
      expect(cli.keyNameOfVersionDir(folder), folder).toBeUndefined();
    }
  });
});
