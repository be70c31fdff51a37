import { describe, expect, it } from 'vitest';
import {
  ASYNC_MIN_LENGTH,
  CompressionCodec,
  compressIfPays,
  compressIfPaysAsync,
  decompressBody,
  decompressBodyAsync,
  looksRandom,
  MIN_COMPRESS_LENGTH,
  SPREAD_MAX_LENGTH,
  SPREAD_MIN_LENGTH,
  worthCompressing,
} from '../src/crypto/compression.ts';
import { CorruptDataError } from '../src/crypto/errors.ts';
import { nodeCryptoProvider } from '../src/crypto/node-provider.ts';
import { toHex } from '../src/encoding/bytes.ts';

const text = (n: number) =>
  new TextEncoder().encode('a line of text, somewhat repetitive. '.repeat(n / 30 + 1)).subarray(0, n);

/** Half random, half zeros: compresses to about 1/2, which passes 7/8. */
function halfRandom(n: number): Uint8Array {
  const out = new Uint8Array(n);
  out.set(nodeCryptoProvider.randomBytes(n / 2));
  return out;
}

/** 15/16 random then zeros: a sample finds it compressible, the whole is above 7/8. */
function mostlyRandom(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let at = 0; at < n; at += 4096) out.set(nodeCryptoProvider.randomBytes(3840), at);
  return out;
}

describe('compression', () => {
  it('compresses text with zstd and decompresses it (sync and async agree)', async () => {
    for (const n of [MIN_COMPRESS_LENGTH, 4096, 65536, 1 << 20]) {
      const data = text(n);
      const enc = compressIfPays(data, 'zstd');
      expect(enc.codec).toBe(CompressionCodec.Zstd);
      expect(enc.body.length * 8).toBeLessThanOrEqual(data.length * 7);
      const asyncEnc = await compressIfPaysAsync(data, 'zstd');
      expect(asyncEnc.codec).toBe(CompressionCodec.Zstd);
      expect(toHex(decompressBody(enc.codec, enc.body, 'x'))).toBe(toHex(data));
      expect(toHex(await decompressBodyAsync(asyncEnc.codec, asyncEnc.body, 'x'))).toBe(toHex(data));
    }
  });

  it('decompresses into one buffer of a known length, and still refuses longer output', async () => {
    for (const n of [MIN_COMPRESS_LENGTH, 4096, 65536, 1 << 20]) {
      const data = text(n);
      const enc = compressIfPays(data, 'zstd');
      const out = decompressBody(enc.codec, enc.body, 'x', n, true);
      expect(toHex(out)).toBe(toHex(data));
      if (n > 4096) expect(out.buffer.byteLength).toBe(n + 1); // one allocation, no concatenation
      expect(toHex(await decompressBodyAsync(enc.codec, enc.body, 'x', n, true))).toBe(toHex(data));
      expect(() => decompressBody(enc.codec, enc.body, 'x', n - 1, true)).toThrow(CorruptDataError);
      expect(decompressBody(enc.codec, enc.body, 'x', n + 100, true).length).toBe(n);
    }
  });

  it('runs many large async (de)compressions at once, each round-tripping', async () => {
    const inputs = Array.from({ length: 7 }, (_, i) => text(ASYNC_MIN_LENGTH + i * 100_000));
    const encoded = await Promise.all(inputs.map((d) => compressIfPaysAsync(d, 'zstd')));
    const decoded = await Promise.all(
      encoded.map((e, i) => decompressBodyAsync(e.codec, e.body, 'x', inputs[i]!.length)),
    );
    for (const [i, d] of decoded.entries()) {
      expect(encoded[i]!.codec).toBe(CompressionCodec.Zstd);
      expect(Buffer.from(d).equals(inputs[i]!)).toBe(true);
    }
  });

  it('stores random data, short data and mode "none" as is, without a copy', async () => {
    const random = nodeCryptoProvider.randomBytes(1 << 20);
    expect(worthCompressing(random)).toBe(false);
    for (const [data, mode] of [
      [random, 'zstd'],
      [nodeCryptoProvider.randomBytes(1000), 'zstd'],
      [text(MIN_COMPRESS_LENGTH - 1), 'zstd'],
      [text(100000), 'none'],
    ] as const) {
      const enc = compressIfPays(data, mode);
      expect(enc.codec).toBe(CompressionCodec.None);
      expect(enc.body).toBe(data);
      expect((await compressIfPaysAsync(data, mode)).body).toBe(data);
    }
  });

  it('does not give small payloads whose bytes look random to zstd, and does give other small ones', () => {
    const random = (n: number) => nodeCryptoProvider.randomBytes(n);
    const repeated = (n: number) => {
      const block = random(256);
      return Uint8Array.from({ length: n }, (_, i) => block[i % 256]!);
    };
    for (const n of [SPREAD_MIN_LENGTH, 2048, SPREAD_MAX_LENGTH]) {
      expect(looksRandom(random(n)), `random ${n}`).toBe(true);
      expect(worthCompressing(random(n)), `random ${n}`).toBe(false);
      for (const [name, data] of [
        ['text', text(n)],
        ['repeated random block', repeated(n)],
        ['hex', new TextEncoder().encode(Buffer.from(random(n)).toString('hex').slice(0, n))],
        ['base64', new TextEncoder().encode(Buffer.from(random(n)).toString('base64').slice(0, n))],
      ] as const) {
        expect(looksRandom(data), `${name} ${n}`).toBe(false);
        expect(worthCompressing(data), `${name} ${n}`).toBe(true);
      }
      // A repeated random block does pay: it is compressed, as before.
      expect(compressIfPays(repeated(n), 'zstd').codec).toBe(CompressionCodec.Zstd);
    }
    // Outside the range the check is not made: zstd decides (and random data stays as is).
    expect(worthCompressing(random(SPREAD_MIN_LENGTH - 1))).toBe(true);
    expect(worthCompressing(random(SPREAD_MAX_LENGTH + 1))).toBe(true);
    expect(compressIfPays(random(SPREAD_MAX_LENGTH + 1), 'zstd').codec).toBe(CompressionCodec.None);
  });

  it('keeps zstd output only when it is at most 7/8 of the input', () => {
    expect(compressIfPays(halfRandom(1 << 20), 'zstd').codec).toBe(CompressionCodec.Zstd);
    const mostly = mostlyRandom(1 << 20);
    expect(worthCompressing(mostly)).toBe(true);
    expect(compressIfPays(mostly, 'zstd').codec).toBe(CompressionCodec.None);
  });

  it('writes one zstd frame with the content size in its header', () => {
    const data = text(200000);
    const { body } = compressIfPays(data, 'zstd');
    expect(toHex(body.subarray(0, 4))).toBe('28b52ffd');
    const fhd = body[4]!;
    const singleSegment = (fhd >> 5) & 1;
    const fcsFlag = fhd >> 6;
    expect(fcsFlag !== 0 || singleSegment === 1).toBe(true);
    expect((fhd >> 2) & 1).toBe(0); // no checksum: GCM covers integrity
  });

  it('reports corruption naming the object', async () => {
    const { body } = compressIfPays(text(100000), 'zstd');
    const broken = new Uint8Array(body);
    broken.fill(0xff, 8, 40);
    expect(() => decompressBody(1, broken, 'blob abc')).toThrow(CorruptDataError);
    expect(() => decompressBody(1, broken, 'blob abc')).toThrow(/^corrupt blob abc: zstd/);
    await expect(decompressBodyAsync(1, broken, 'blob abc')).rejects.toThrow(/^corrupt blob abc: zstd/);
    expect(() => decompressBody(2, body, 'blob abc')).toThrow(/corrupt blob abc: unknown compression byte 2/);
    expect(() => decompressBody(1, body, 'blob abc', 1000)).toThrow(/corrupt blob abc/);
    await expect(decompressBodyAsync(1, body, 'blob abc', 1000)).rejects.toThrow(/corrupt blob abc/);
  });
});
