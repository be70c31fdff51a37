import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  contentMd5,
  ExactReader,
  effectivePartSize,
  encodeTagging,
  isMd5Etag,
  listingKeyDecoder,
  readBody,
  unquoteEtag,
} from '../src/index.ts';

async function* chunks(sizes: number[]): AsyncIterable<Uint8Array> {
  let v = 0;
  for (const n of sizes) {
    const c = new Uint8Array(n);
    for (let i = 0; i < n; i++) c[i] = v++ & 0xff;
    yield c;
  }
}

describe('ExactReader', () => {
  it('cuts a stream into exact pieces across chunk boundaries', async () => {
    const r = new ExactReader(chunks([3, 0, 10, 1, 7]));
    const a = await r.read(5);
    const b = await r.read(10);
    const c = await r.read(10);
    expect([...a]).toEqual([0, 1, 2, 3, 4]);
    expect(b.length).toBe(10);
    expect(b[0]).toBe(5);
    expect(c.length).toBe(6);
    expect(await r.atEnd()).toBe(true);
    expect((await r.read(4)).length).toBe(0);
  });

  it('returns a piece within one incoming chunk as a view of it, without copying', async () => {
    const whole = new Uint8Array([1, 2, 3, 4, 5, 6]);
    const r = new ExactReader(
      (async function* () {
        yield whole;
      })(),
    );
    const a = await r.read(4);
    expect(a.buffer).toBe(whole.buffer);
    expect([...a]).toEqual([1, 2, 3, 4]);
    expect([...(await r.read(4))]).toEqual([5, 6]);
    expect(await r.atEnd()).toBe(true);
  });

  it('tells when bytes are left', async () => {
    const r = new ExactReader(chunks([4]));
    await r.read(3);
    expect(await r.atEnd()).toBe(false);
    await r.read(1);
    expect(await r.atEnd()).toBe(true);
  });
});

describe('small helpers', () => {
  it('decodes listing keys only when the server applied EncodingType=url', () => {
    expect(listingKeyDecoder('url')('a%2Fb%25c%0D')).toBe('a/b%c\r');
    expect(listingKeyDecoder(undefined)('a%2Fb')).toBe('a%2Fb');
  });

  it('encodes tags for x-amz-tagging', () => {
    expect(encodeTagging({ a: '1', 'b c': 'x&y=z', é: '/' })).toBe('a=1&b%20c=x%26y%3Dz&%C3%A9=%2F');
    expect(encodeTagging({})).toBeUndefined();
  });

  it('recognises MD5 ETags', () => {
    expect(isMd5Etag('"9e107d9d372bb6826bd81d3542a419d6"')).toBe(true);
    expect(isMd5Etag('"9e107d9d372bb6826bd81d3542a419d6-3"')).toBe(false);
    expect(unquoteEtag('W/"abc"')).toBe('abc');
    expect(unquoteEtag('"abc"')).toBe('abc');
    expect(unquoteEtag('abc')).toBe('abc');
    expect(unquoteEtag('"')).toBe('"');
    expect(unquoteEtag('""')).toBe('');
    expect(unquoteEtag('"a"b"')).toBe('a"b');
    expect(unquoteEtag('"abc')).toBe('"abc');
    expect(contentMd5(new TextEncoder().encode('The quick brown fox jumps over the lazy dog'))).toBe(
      Buffer.from('9e107d9d372bb6826bd81d3542a419d6', 'hex').toString('base64'),
    );
  });

  it('raises the part size to stay within 10,000 parts and above 5 MiB', () => {
    const MiB = 1024 * 1024;
    expect(effectivePartSize(100 * MiB, 8 * MiB)).toBe(8 * MiB);
    expect(effectivePartSize(100 * MiB, 1 * MiB)).toBe(5 * MiB);
    expect(effectivePartSize(200_000 * MiB, 8 * MiB)).toBe(20 * MiB);
  });
});

describe('readBody', () => {
  const body = (sizes: number[]) => Readable.from(chunks(sizes), { objectMode: true });
  const expected = (n: number) => Array.from({ length: n }, (_, i) => i & 0xff);

  it('reads into the given buffer when the body fits, else into a new one', async () => {
    const into = new Uint8Array(100).fill(0xee);
    const fits = await readBody(body([30, 20, 10]), into);
    expect(fits.buffer).toBe(into.buffer);
    expect(fits.byteOffset).toBe(into.byteOffset);
    expect([...fits]).toEqual(expected(60));
    expect(into[60]).toBe(0xee); // nothing written past the body
    const longer = await readBody(body([60, 30, 20]), new Uint8Array(100));
    expect([...longer]).toEqual(expected(110));
    const plain = await readBody(body([5, 6]));
    expect([...plain]).toEqual(expected(11));
    expect((await readBody(body([]), into)).length).toBe(0);
  });
});
