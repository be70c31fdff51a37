import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  assertChunkingParams,
  type ChunkingParams,
  chunkBuffer,
  chunkStream,
  DEFAULT_CHUNKING,
  findCut,
  highBitsMask,
  makeChunker,
} from '../src/chunking/fastcdc.ts';
import { deriveKeyRing } from '../src/crypto/key-ring.ts';
import { nodeCryptoProvider } from '../src/crypto/node-provider.ts';
import { toHex } from '../src/encoding/bytes.ts';
import { xorshift32Bytes } from './vectors/prng.ts';

const node = nodeCryptoProvider;
// Fixed keys and data, so that the shift-resistance bounds below are checked on the same cuts every
// run: with a random key and random edit bytes the edit changed 5 chunks in 2 of about 12 runs.
const ring = deriveKeyRing(node, xorshift32Bytes(31, 32), xorshift32Bytes(37, 32));
const small: ChunkingParams = { algorithm: 'fastcdc-v1', min: 2048, avg: 8192, max: 65536, normalization: 2 };
const data = xorshift32Bytes(99, 8 * 1024 * 1024);

async function* pieces(buf: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < buf.length; at += size) yield buf.subarray(at, at + size);
}

async function collect(source: AsyncIterable<Uint8Array>, params: ChunkingParams): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const c of chunkStream(source, params, ring.gear)) out.push(c);
  return out;
}

const lengths = (chunks: Iterable<Uint8Array>) => Array.from(chunks, (c) => c.length);
const ids = (chunks: Iterable<Uint8Array>) => Array.from(chunks, (c) => toHex(node.sha256(c)));

describe('FastCDC', () => {
  it('masks are the highest bits of a 32-bit word', () => {
    expect(highBitsMask(1)).toBe(0x80000000);
    expect(highBitsMask(22)).toBe(0xfffffc00);
    expect(highBitsMask(18)).toBe(0xffffc000);
    expect(highBitsMask(32)).toBe(0xffffffff);
    expect(() => highBitsMask(0)).toThrow(RangeError);
  });

  it('respects min and max, and covers the input exactly', () => {
    for (const params of [
      small,
      { ...small, normalization: 0 },
      { ...small, min: 64, avg: 64, max: 64 },
      DEFAULT_CHUNKING,
    ]) {
      const chunks = Array.from(chunkBuffer(data, makeChunker(params, ring.gear)));
      const ls = lengths(chunks);
      expect(ls.reduce((a, b) => a + b, 0)).toBe(data.length);
      for (const l of ls.slice(0, -1)) {
        expect(l).toBeGreaterThan(params.min === params.max ? params.min - 1 : params.min);
        expect(l).toBeLessThanOrEqual(params.max);
      }
      expect(ls.at(-1)!).toBeLessThanOrEqual(params.max);
    }
  });

  it('averages near the target size with normalization', () => {
    const ls = lengths(chunkBuffer(data, makeChunker(small, ring.gear)));
    const mean = data.length / ls.length;
    expect(mean).toBeGreaterThan(small.avg * 0.8);
    expect(mean).toBeLessThan(small.avg * 1.5);
  });

  it('forces cuts at max on data without content-defined boundaries', () => {
    const zeros = new Uint8Array(300_000);
    const c = makeChunker(small, ring.gear);
    const ls = lengths(chunkBuffer(zeros, c));
    // h converges to a constant on a run of zeros; either it cuts early and always at the same place, or at max.
    expect(new Set(ls.slice(0, -1)).size).toBe(1);
  });

  it('cuts the same boundaries from a stream as from a buffer, for any piece sizes', async () => {
    const expected = ids(chunkBuffer(data, makeChunker(small, ring.gear)));
    for (const size of [1 << 20, 65536, 4097, 100]) {
      expect(ids(await collect(pieces(data, size), small)), `pieces of ${size}`).toEqual(expected);
    }
    const tiny = data.subarray(0, 20_000);
    const tinyExpected = ids(chunkBuffer(tiny, makeChunker(small, ring.gear)));
    expect(ids(await collect(pieces(tiny, 1), small))).toEqual(tinyExpected);
  });

  it('handles empty input, empty pieces and inputs shorter than min', async () => {
    expect(await collect(pieces(new Uint8Array(0), 10), small)).toEqual([]);
    async function* withEmpties() {
      yield new Uint8Array(0);
      yield data.subarray(0, 100);
      yield new Uint8Array(0);
      yield data.subarray(100, 1000);
    }
    const out = await collect(withEmpties(), small);
    expect(lengths(out)).toEqual([1000]);
    expect(toHex(out[0]!)).toBe(toHex(data.subarray(0, 1000)));
    expect(findCut(data, 0, 100, makeChunker(small, ring.gear))).toBe(100);
    expect(findCut(data, 5, 5, makeChunker(small, ring.gear))).toBe(5);
  });

  it('yields a view when a chunk lies inside one piece, and an exact copy when it spans pieces', async () => {
    const whole = await collect(pieces(data, data.length), small);
    expect(whole[0]!.buffer).toBe(data.buffer);
    const spanning = await collect(pieces(data, 1000), small);
    for (const c of spanning.slice(0, -1)) {
      expect(c.buffer).not.toBe(data.buffer);
      expect(c.buffer.byteLength).toBe(c.length);
    }
  });

  it('buffers at most max bytes plus one input piece', async () => {
    const pieceSize = 10_000;
    let pulled = 0;
    let yielded = 0;
    let worst = 0;
    async function* counting() {
      for (let at = 0; at < data.length; at += pieceSize) {
        pulled += Math.min(pieceSize, data.length - at);
        yield data.subarray(at, at + pieceSize);
      }
    }
    for await (const c of chunkStream(counting(), small, ring.gear)) {
      yielded += c.length;
      worst = Math.max(worst, pulled - yielded);
    }
    expect(yielded).toBe(data.length);
    expect(worst).toBeLessThanOrEqual(small.max + pieceSize);
  });

  it('resists shifts: inserting bytes at the start, or editing the middle, changes few chunks', () => {
    const c = makeChunker(small, ring.gear);
    const base = new Set(ids(chunkBuffer(data, c)));
    const inserted = new Uint8Array(data.length + 100);
    inserted.set(xorshift32Bytes(41, 100));
    inserted.set(data, 100);
    const afterInsert = ids(chunkBuffer(inserted, c));
    const changedInsert = afterInsert.filter((id) => !base.has(id)).length;
    expect(changedInsert, `chunks changed by the insertion, of ${base.size}`).toBeLessThanOrEqual(3);
    const edited = new Uint8Array(data);
    edited.set(xorshift32Bytes(43, 16), data.length / 2);
    const changedEdit = ids(chunkBuffer(edited, c)).filter((id) => !base.has(id)).length;
    expect(changedEdit, `chunks changed by the edit, of ${base.size}`).toBeLessThanOrEqual(3);
    expect(base.size).toBeGreaterThan(500);
  });

  it('cuts differently under another key (chunk lengths do not fingerprint files)', () => {
    const other = deriveKeyRing(node, node.randomBytes(32), node.randomBytes(32));
    const a = lengths(chunkBuffer(data, makeChunker(small, ring.gear)));
    const b = lengths(chunkBuffer(data, makeChunker(small, other.gear)));
    expect(a).not.toEqual(b);
  });

  it('matches a literal transcription of the FORMAT.md §7 pseudo-code', () => {
    /** FORMAT.md §7, line by line, in the slowest and plainest way. */
    function referenceCut(d: Uint8Array, s: number, n: number, p: ChunkingParams, gear: Uint32Array): number {
      const bits = Math.log2(p.avg);
      const mask = (k: number) => Number(((1n << BigInt(k)) - 1n) << BigInt(32 - k));
      const maskS = mask(bits + p.normalization);
      const maskL = mask(bits - p.normalization);
      if (n - s <= p.min) return n;
      let h = 0;
      for (let L = p.min + 1; L <= Math.min(n - s, p.max); L++) {
        h = (h * 2 + gear[d[s + L - 1]!]!) % 2 ** 32;
        if ((h & (L <= p.avg ? maskS : maskL)) >>> 0 === 0) return s + L;
      }
      return s + Math.min(n - s, p.max);
    }
    const input = data.subarray(0, 2 * 1024 * 1024);
    for (const p of [
      small,
      { ...small, normalization: 0 },
      { ...small, min: 64, avg: 256, max: 1024, normalization: 3 },
    ]) {
      const expected: number[] = [];
      for (let s = 0; s < input.length; ) {
        const end = referenceCut(input, s, input.length, p, ring.gear);
        expected.push(end - s);
        s = end;
      }
      expect(lengths(chunkBuffer(input, makeChunker(p, ring.gear)))).toEqual(expected);
    }
  });

  it('validates parameters', () => {
    expect(() => assertChunkingParams(DEFAULT_CHUNKING)).not.toThrow();
    const bad: Array<Partial<ChunkingParams>> = [
      { min: 32 },
      { min: 2 * 1024 * 1024 },
      { avg: 1000000 },
      { max: 64 * 1024 * 1024 + 1 },
      { max: 1024 },
      { normalization: 4 },
      { normalization: -1 },
      { min: 1000.5 },
      { algorithm: 'rabin' as 'fastcdc-v1' },
    ];
    for (const b of bad)
      expect(() => assertChunkingParams({ ...DEFAULT_CHUNKING, ...b }), JSON.stringify(b)).toThrow(
        RangeError,
      );
    expect(() => makeChunker(DEFAULT_CHUNKING, new Uint32Array(255))).toThrow(/256/);
    expect(() => findCut(data, 10, data.length + 1, makeChunker(small, ring.gear))).toThrow(RangeError);
  });

  it('keeps scanForCut above V8 inlining limits (see the performance note in fastcdc.ts)', () => {
    const module = new URL('../src/chunking/fastcdc.ts', import.meta.url).href;
    const script = `import { scanForCut, makeChunker, DEFAULT_CHUNKING } from ${JSON.stringify(module)};
      scanForCut(new Uint8Array(10), 0, 10, { hash: 0, length: 0 }, makeChunker(DEFAULT_CHUNKING, new Uint32Array(256)));`;
    const out = execFileSync(
      process.execPath,
      ['--print-bytecode', '--print-bytecode-filter=scanForCut', '--input-type=module', '-e', script],
      { encoding: 'utf8', cwd: fileURLToPath(new URL('.', import.meta.url)) },
    );
    const length = Number(/Bytecode length: (\d+)/.exec(out)?.[1]);
    expect(length).toBeGreaterThan(460);
  });
});
