/**
 * `diff` over the versions tree of S3 snapshots (src/commands/diff-versions.ts): the path of a
 * version entry, as s3-common writes it, maps back to its key's plain-tree path and version id
 * (plain, escaped and twin names, the null version, ids with `%` and `/`); each change of the diff
 * is shown as a version change, folded (directories, IsLatest flips) or as a plain entry.
 */
import * as s3 from '@kloset/s3-common';
import { describe, expect, it } from 'vitest';
import {
  inVersionsTree,
  type VersionChange,
  versionChangeJson,
  versionChangeLines,
  versionChangeOf,
  versionOfPath,
} from '../src/commands/diff-versions.ts';
import type { DiffChangeView, EntryView } from '../src/engine/engine.ts';

const T = Date.parse('2026-12-06T23:02:48.123Z');

/** The path s3-common gives version `id` of `key` last modified at `ms`. */
function pathOf(key: string, id: string, ms = T): string {
  return `/${[...s3.versionDirNames(key), s3.versionName(ms, id)].join('/')}`;
}

function version(path: string, meta: Record<string, string>, size = 12): EntryView {
  return { path, type: 'file', size, mtime: { sec: Math.floor(T / 1000), nsec: 0 }, metadata: meta };
}

function versionMeta(id: string, latest: boolean, more: Record<string, string> = {}): Record<string, string> {
  return {
    's3.key': 'docs/a.txt',
    's3.version-id': id,
    's3.is-latest': String(latest),
    's3.last-modified': new Date(T).toISOString(),
    ...more,
  };
}

const dir = (path: string): EntryView => ({
  path,
  type: 'directory',
  size: 0,
  mtime: { sec: 0, nsec: 0 },
  metadata: {},
});

const BOTH = { before: true, after: true };

function asVersion(v: ReturnType<typeof versionChangeOf>): VersionChange {
  if (v === undefined || v === 'folded') throw new Error(`not a version change: ${String(v)}`);
  return v;
}

describe('versionOfPath', () => {
  it("gives the key's plain-tree path and the version id of every name s3-common writes", () => {
    const cases: [key: string, id: string, keyPath: string][] = [
      ['docs/a.txt', '3sL4kqtJ', '/docs/a.txt'],
      ['a', 'null', '/a'],
      ['x/50%off', 'v1', '/x/50%off'],
      ['x/%lead', 'v2', '/x/%%25lead'],
      ['dir/', 'v3', '/dir/%'],
      ['a//b', 'v4', '/a/%/b'],
      ['p/..', 'v5', '/p/%..'],
      ['%%versions/k', 'v6', '/%%25%25versions/k'],
      ['docs/a.txt', 'id/with%slash\0nul', '/docs/a.txt'],
      ['docs/a.txt', '', '/docs/a.txt'],
    ];
    for (const [key, id, keyPath] of cases) {
      const path = pathOf(key, id);
      expect(versionOfPath(path), path).toEqual({ keyPath, versionId: id, lastModifiedMs: T });
      expect(inVersionsTree(path)).toBe(true);
      // The key path is a path ls -versions takes: it leads back to the same directory.
      expect(s3.versionDirOfPath(keyPath), key).toBe(`/${s3.versionDirNames(key).join('/')}`);
    }
    expect(versionOfPath(pathOf('a', 'v', 0))?.lastModifiedMs).toBe(0);
  });

  it('is undefined for the directories of the versions tree and for names the source never writes', () => {
    for (const path of [
      '/%%versions',
      '/%%versions/docs',
      '/%%versions/docs/%a.txt%',
      '/%%versions/docs/a.txt/8203401831876.id', // a folder's directory, not a key's
      '/%%versions/%a%/820340183187.id', // 12 digits
      '/%%versions/%a%/8203401831876-id',
      '/docs/%a.txt%/8203401831876.id', // not in the versions tree
      '/%%versionsx/%a%/8203401831876.id',
    ]) {
      expect(versionOfPath(path), path).toBeUndefined();
    }
    expect(inVersionsTree('/%%versionsx')).toBe(false);
    expect(inVersionsTree('/docs')).toBe(false);
  });
});

describe('versionChangeOf', () => {
  const p = pathOf('docs/a.txt', 'v2');

  it('an added version, delete marker and a removed version are version changes', () => {
    const added = asVersion(
      versionChangeOf(
        { change: 'added', path: p, fields: [], after: version(p, versionMeta('v2', true)) },
        BOTH,
      ),
    );
    expect(added).toMatchObject({
      change: 'version_added',
      keyPath: '/docs/a.txt',
      versionId: 'v2',
      path: p,
    });
    expect(versionChangeLines(added)).toEqual([
      '+ /docs/a.txt  version v2  2026-12-06T23:02:48.123Z  12 B  latest',
    ]);
    const marker = pathOf('gone.txt', 'dm1');
    const meta = {
      's3.key': 'gone.txt',
      's3.version-id': 'dm1',
      's3.is-latest': 'true',
      's3.last-modified': new Date(T).toISOString(),
      's3.delete-marker': 'true',
    };
    const dm = asVersion(
      versionChangeOf({ change: 'added', path: marker, fields: [], after: version(marker, meta, 0) }, BOTH),
    );
    expect(versionChangeLines(dm)).toEqual([
      '+ /gone.txt  delete-marker dm1  2026-12-06T23:02:48.123Z  latest',
    ]);
    expect(versionChangeJson(dm)).toMatchObject({
      change: 'version_added',
      key: 'gone.txt',
      key_path: '/gone.txt',
      version_id: 'dm1',
      last_modified: '2026-12-06T23:02:48.123Z',
      size: 0,
      latest: true,
      delete_marker: true,
      path: marker,
      before: null,
    });
    const removed = asVersion(
      versionChangeOf(
        { change: 'removed', path: p, fields: [], before: version(p, versionMeta('v2', true)) },
        BOTH,
      ),
    );
    expect(versionChangeLines(removed)).toEqual([
      '- /docs/a.txt  version v2  2026-12-06T23:02:48.123Z  12 B  was latest',
    ]);
    expect(versionChangeJson(removed)).toMatchObject({
      change: 'version_removed',
      latest: true,
      after: null,
      delete_marker: false,
    });
  });

  it('the null version and an escaped id show the id as S3 gives it', () => {
    const nul = pathOf('legacy.txt', 'null');
    const v = asVersion(
      versionChangeOf(
        { change: 'removed', path: nul, fields: [], before: version(nul, versionMeta('null', false), 3) },
        BOTH,
      ),
    );
    expect(versionChangeLines(v)).toEqual(['- /legacy.txt  version null  2026-12-06T23:02:48.123Z  3 B']);
    const odd = pathOf('x/50%off', 'a/b%c');
    const w = asVersion(
      versionChangeOf({ change: 'added', path: odd, fields: [], after: version(odd, {}) }, BOTH),
    );
    // Without s3.last-modified the time is the one in the name.
    expect(versionChangeJson(w)).toMatchObject({
      version_id: 'a/b%c',
      key_path: '/x/50%off',
      key: null,
      last_modified: '2026-12-06T23:02:48.123Z',
    });
  });

  it('an IsLatest flip alone is folded; other changes of a version are shown without it', () => {
    const before = version(p, versionMeta('v2', true));
    const flip: DiffChangeView = {
      change: 'changed',
      path: p,
      fields: ['metadata'],
      before,
      after: version(p, versionMeta('v2', false)),
    };
    expect(versionChangeOf(flip, BOTH)).toBe('folded');
    const tagged: DiffChangeView = {
      change: 'changed',
      path: p,
      fields: ['metadata'],
      before,
      after: version(p, versionMeta('v2', false, { 's3.tag.color': 'red', 's3.storage-class': 'GLACIER' })),
    };
    const v = asVersion(versionChangeOf(tagged, BOTH));
    expect(versionChangeLines(v)).toEqual([
      '~ /docs/a.txt  version v2  2026-12-06T23:02:48.123Z  12 B  (metadata)',
      '    + tag color: red',
      '    + storage-class: GLACIER',
    ]);
    expect(versionChangeJson(v)).toMatchObject({
      change: 'version_changed',
      fields: ['metadata'],
      latest: false,
    });
    expect((versionChangeJson(v).changes as unknown[]).length).toBe(2);
  });

  it('directories of the versions tree are folded; the plain tree and other snapshots are entries', () => {
    for (const path of ['/%%versions', '/%%versions/docs', '/%%versions/docs/%a.txt%']) {
      expect(versionChangeOf({ change: 'added', path, fields: [], after: dir(path) }, BOTH), path).toBe(
        'folded',
      );
      expect(
        versionChangeOf(
          { change: 'changed', path, fields: ['mtime'], before: dir(path), after: dir(path) },
          BOTH,
        ),
      ).toBe('folded');
    }
    const plain = '/docs/a.txt';
    expect(
      versionChangeOf(
        { change: 'added', path: plain, fields: [], after: version(plain, versionMeta('v2', true)) },
        BOTH,
      ),
    ).toBeUndefined();
    // A snapshot of another source may hold a directory named %%versions: shown as it is.
    const after = version(p, versionMeta('v2', true));
    expect(
      versionChangeOf({ change: 'added', path: p, fields: [], after }, { before: true, after: false }),
    ).toBeUndefined();
    expect(
      versionChangeOf(
        { change: 'removed', path: p, fields: [], before: after },
        { before: false, after: true },
      ),
    ).toBeUndefined();
    expect(
      versionChangeOf(
        { change: 'added', path: '/%%versions', fields: [], after: dir('/%%versions') },
        { before: false, after: false },
      ),
    ).toBeUndefined();
    // A name the source never writes stays a plain entry (nothing is hidden).
    const odd = '/%%versions/%a%/notaversion';
    expect(
      versionChangeOf({ change: 'added', path: odd, fields: [], after: version(odd, {}) }, BOTH),
    ).toBeUndefined();
  });
});
