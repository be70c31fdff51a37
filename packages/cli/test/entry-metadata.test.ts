/**
 * How ls and diff read an entry's metadata: the S3 keys they name, checked against the S3
 * connectors' own constants (the CLI repeats them rather than load a connector), and the order,
 * labels and changes they print.
 */
import {
  META_CACHE_CONTROL,
  META_CHECKSUM_PREFIX,
  META_CONTENT_DISPOSITION,
  META_CONTENT_ENCODING,
  META_CONTENT_LANGUAGE,
  META_CONTENT_TYPE,
  META_ETAG,
  META_EXPIRES,
  META_KEY,
  META_STORAGE_CLASS,
  META_TAG_PREFIX,
  META_USER_PREFIX,
  META_VERSION_ID,
  META_WEBSITE_REDIRECT,
} from '@kloset/s3-common';
import { describe, expect, it } from 'vitest';
import {
  classifyKey,
  metadataChangeLine,
  metadataChanges,
  metadataJson,
  metadataLines,
} from '../src/commands/entry-metadata.ts';

describe('entry metadata', () => {
  it("classifies the S3 connectors' keys by their constants", () => {
    expect(classifyKey(META_CONTENT_TYPE)).toEqual({ kind: 'header', name: 'content-type' });
    expect(classifyKey(META_CONTENT_ENCODING)).toEqual({ kind: 'header', name: 'content-encoding' });
    expect(classifyKey(META_CONTENT_DISPOSITION)).toEqual({ kind: 'header', name: 'content-disposition' });
    expect(classifyKey(META_CONTENT_LANGUAGE)).toEqual({ kind: 'header', name: 'content-language' });
    expect(classifyKey(META_CACHE_CONTROL)).toEqual({ kind: 'header', name: 'cache-control' });
    expect(classifyKey(META_EXPIRES)).toEqual({ kind: 'header', name: 'expires' });
    expect(classifyKey(META_WEBSITE_REDIRECT)).toEqual({
      kind: 'header',
      name: 'x-amz-website-redirect-location',
    });
    expect(classifyKey(`${META_USER_PREFIX}owner`)).toEqual({ kind: 'metadata', name: 'owner' });
    expect(classifyKey(`${META_TAG_PREFIX}a.b c`)).toEqual({ kind: 'tag', name: 'a.b c' });
    expect(classifyKey(META_STORAGE_CLASS)).toEqual({ kind: 'storage_class', name: 'storage_class' });
    expect(classifyKey(META_ETAG)).toEqual({ kind: 'etag', name: 'etag' });
    for (const key of [META_KEY, META_VERSION_ID, `${META_CHECKSUM_PREFIX}sha256`, 'xattr.user.x']) {
      expect(classifyKey(key)).toEqual({ kind: 'attribute', name: key });
    }
  });

  const object = {
    [META_KEY]: 'docs/a.html',
    [`${META_TAG_PREFIX}color`]: 'red',
    [META_ETAG]: '5d41402abc4b2a76b9719d911017c592',
    [`${META_USER_PREFIX}owner`]: 'alice',
    [META_CACHE_CONTROL]: 'max-age=60',
    [META_STORAGE_CLASS]: 'STANDARD',
    [META_CONTENT_TYPE]: 'text/html',
  };

  it('groups them for -json, with empty groups and nulls when there are none', () => {
    expect(metadataJson(object)).toEqual({
      headers: { 'content-type': 'text/html', 'cache-control': 'max-age=60' },
      metadata: { owner: 'alice' },
      tags: { color: 'red' },
      storage_class: 'STANDARD',
      etag: '5d41402abc4b2a76b9719d911017c592',
      attributes: { 's3.key': 'docs/a.html' },
    });
    expect(metadataJson({})).toEqual({
      headers: {},
      metadata: {},
      tags: {},
      storage_class: null,
      etag: null,
      attributes: {},
    });
  });

  it('lists them for ls -l: headers, user metadata, tags, storage class, etag, the rest', () => {
    expect(metadataLines(object, '  ')).toEqual([
      '  content-type: text/html',
      '  cache-control: max-age=60',
      '  meta owner: alice',
      '  tag color: red',
      '  storage-class: STANDARD',
      '  etag: 5d41402abc4b2a76b9719d911017c592',
      '  s3.key: docs/a.html',
    ]);
  });

  it('tells what was added, removed and changed, and nothing else', () => {
    const after = { ...object, [META_CONTENT_TYPE]: 'text/plain', [`${META_USER_PREFIX}team`]: 'b' };
    delete (after as Record<string, string>)[`${META_TAG_PREFIX}color`];
    const changes = metadataChanges(object, after);
    expect(changes).toEqual([
      { kind: 'header', name: 'content-type', change: 'changed', from: 'text/html', to: 'text/plain' },
      { kind: 'metadata', name: 'team', change: 'added', from: null, to: 'b' },
      { kind: 'tag', name: 'color', change: 'removed', from: 'red', to: null },
    ]);
    expect(changes.map((c) => metadataChangeLine(c, ''))).toEqual([
      '~ content-type: text/html -> text/plain',
      '+ meta team: b',
      '- tag color: red',
    ]);
    expect(metadataChanges(object, { ...object })).toEqual([]);
  });
});
