/**
 * Normalized FastCDC with a keyed gear table (FORMAT.md §7).
 *
 * The rolling hash is 32-bit: `h = ((h << 1) + gear[byte]) mod 2^32`, reset to 0 at every chunk
 * start. A chunk's first `min` bytes are skipped (not hashed). For the byte that makes the chunk
 * `L` bytes long (L > min), the hash is updated and a cut is made after that byte when
 * `h & mask == 0`, where mask is MASK_S while L <= avg and MASK_L after; at L == max a cut is forced.
 *
 * Masks: with `bits = log2(avg)`, `mask(n)` is the n highest bits of a 32-bit word,
 * `mask(n) = (2^n - 1) << (32 - n)`, MASK_S = mask(bits + normalization) and
 * MASK_L = mask(bits - normalization). The high bits of a left-shifting gear hash depend on the last
 * 32 bytes (the low bits on fewer), so the highest bits give the widest content window.
 * For the defaults (avg 1 MiB, normalization 2): MASK_S = 0xfffffc00, MASK_L = 0xffffc000.
 *
 * The inner loops work on int32 (`| 0`), which equals the mod 2^32 arithmetic above bit for bit.
 */

import { allocUninitialized } from '../encoding/bytes.ts';

/** Chunking parameters as kept in the store config. */
export interface ChunkingParams {
  readonly algorithm: 'fastcdc-v1';
  readonly min: number;
  readonly avg: number;
  readonly max: number;
  readonly normalization: number;
}

/** 512 KiB min, 1 MiB average, 8 MiB max, normalization 2. */
export const DEFAULT_CHUNKING: ChunkingParams = Object.freeze({
  algorithm: 'fastcdc-v1',
  min: 512 * 1024,
  avg: 1024 * 1024,
  max: 8 * 1024 * 1024,
  normalization: 2,
});

/** Accepted ranges (readers and writers): 64 <= min <= avg <= max <= 64 MiB, avg a power of two. */
export const CHUNKING_LIMITS = Object.freeze({
  minMin: 64,
  maxMax: 64 * 1024 * 1024,
  avgBitsMin: 6,
  avgBitsMax: 26,
  normalizationMax: 3,
});

/** Throws (one line) unless `params` are valid fastcdc-v1 parameters. */
export function assertChunkingParams(params: ChunkingParams): void {
  const { min, avg, max, normalization } = params;
  const l = CHUNKING_LIMITS;
  if (params.algorithm !== 'fastcdc-v1')
    throw new RangeError(`unsupported chunking ${String(params.algorithm)}`);
  for (const [name, v] of [
    ['min', min],
    ['avg', avg],
    ['max', max],
    ['normalization', normalization],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 0)
      throw new RangeError(`chunking ${name} must be a non-negative integer`);
  }
  if (!(l.minMin <= min && min <= avg && avg <= max && max <= l.maxMax)) {
    throw new RangeError(`chunking sizes must satisfy ${l.minMin} <= min <= avg <= max <= ${l.maxMax}`);
  }
  const bits = Math.log2(avg);
  if (!Number.isInteger(bits) || bits < l.avgBitsMin || bits > l.avgBitsMax) {
    throw new RangeError(`chunking avg must be a power of two from 2^${l.avgBitsMin} to 2^${l.avgBitsMax}`);
  }
  if (normalization > l.normalizationMax) {
    throw new RangeError(`chunking normalization must be 0..${l.normalizationMax}`);
  }
}

/** The n highest bits of a 32-bit word, as an unsigned number (1 <= n <= 32). */
export function highBitsMask(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 32) throw new RangeError(`mask bit count ${n} out of range`);
  return (0xffffffff << (32 - n)) >>> 0;
}

/** Parameters resolved for the hot loop (masks as int32). */
export interface Chunker {
  readonly min: number;
  readonly avg: number;
  readonly max: number;
  /** MASK_S as int32. */
  readonly maskS: number;
  /** MASK_L as int32. */
  readonly maskL: number;
  /** The gear table viewed as int32 (same memory as the Uint32Array). */
  readonly gear: Int32Array;
}

/** Validates `params` and prepares the masks and gear view. `gear` is KeyRing.gear (256 entries). */
export function makeChunker(params: ChunkingParams, gear: Uint32Array): Chunker {
  assertChunkingParams(params);
  if (gear.length !== 256) throw new RangeError('gear table must have 256 entries');
  const bits = Math.log2(params.avg);
  return {
    min: params.min,
    avg: params.avg,
    max: params.max,
    maskS: highBitsMask(bits + params.normalization) | 0,
    maskL: highBitsMask(bits - params.normalization) | 0,
    gear: new Int32Array(gear.buffer, gear.byteOffset, 256),
  };
}

/** Scan state of the chunk being cut: its length so far and the rolling hash. */
export interface CutState {
  hash: number;
  length: number;
}

/**
 * Continues the current chunk over `buf[from..to)`. Returns the index just past the chunk's last
 * byte if the chunk ends inside that range (cut or `max` reached), else -1. `state` is updated
 * either way; reset it to `{ hash: 0, length: 0 }` after a cut.
 *
 * Performance note: both hot loops are inline in this one function, and its bytecode is kept above
 * V8's inlining limit (460 bytes; a test checks it). V8's mid tier (Maglev) inlines smaller callees,
 * and a hot loop inlined into a rarely called Maglev-compiled function never gets to TurboFan (V8
 * does not OSR out of Maglev): with a tiny separate loop function, throughput fell from ~1.4 GB/s
 * to ~0.4 GB/s after a few hundred 1 MiB chunks. Keep the loop bodies minimal (exit with `break`).
 */
export function scanForCut(buf: Uint8Array, from: number, to: number, state: CutState, c: Chunker): number {
  if (!(from >= 0 && from <= to && to <= buf.length)) {
    throw new RangeError(`scanForCut: range ${from}..${to} is outside a buffer of ${buf.length} bytes`);
  }
  let i = from;
  let length = state.length;
  // Skip the first `min` bytes.
  if (length < c.min) {
    const skip = Math.min(c.min - length, to - i);
    i += skip;
    length += skip;
    if (length < c.min) {
      state.length = length;
      return -1;
    }
  }
  const gear = c.gear;
  let h = state.hash;
  // Small mask while the chunk length (including the current byte) is at most avg.
  if (length < c.avg) {
    const mask = c.maskS;
    const stop = Math.min(to, i + (c.avg - length));
    const first = i;
    for (; i < stop; i++) {
      h = ((h << 1) + gear[buf[i]!]!) | 0;
      if ((h & mask) === 0) break;
    }
    if (i < stop) {
      i++;
      state.hash = h;
      state.length = length + (i - first);
      return i;
    }
    length += i - first;
    if (length < c.avg) {
      state.hash = h;
      state.length = length;
      return -1;
    }
  }
  // Large mask up to max.
  const mask = c.maskL;
  const stop = Math.min(to, i + (c.max - length));
  const first = i;
  for (; i < stop; i++) {
    h = ((h << 1) + gear[buf[i]!]!) | 0;
    if ((h & mask) === 0) break;
  }
  if (i < stop) {
    i++;
    state.hash = h;
    state.length = length + (i - first);
    return i;
  }
  length += i - first;
  state.hash = h;
  state.length = length;
  if (length === c.max) return i;
  return -1;
}

/**
 * The end (exclusive) of the chunk starting at `start` in `buf[start..end)`, where `end` is either
 * the end of the data or at least `start + max`.
 */
export function findCut(buf: Uint8Array, start: number, end: number, chunker: Chunker): number {
  const cut = scanForCut(buf, start, end, { hash: 0, length: 0 }, chunker);
  return cut < 0 ? end : cut;
}

/** Chunks of a contiguous buffer, as views into it (no copy). */
export function* chunkBuffer(buf: Uint8Array, chunker: Chunker): Generator<Uint8Array> {
  let start = 0;
  while (start < buf.length) {
    const cut = findCut(buf, start, buf.length, chunker);
    yield buf.subarray(start, cut);
    start = cut;
  }
}

/**
 * Cuts a stream into chunks. Each input byte is copied at most once: a chunk spanning several
 * input pieces is assembled into one exactly sized new array; a chunk inside one piece is yielded
 * as a view of that piece (so the source must not reuse the buffers it yields). Buffering is
 * bounded: the pending part of the current chunk (< max bytes) plus the current input piece.
 * An empty source yields nothing; empty pieces are ignored.
 */
export async function* chunkStream(
  source: AsyncIterable<Uint8Array>,
  params: ChunkingParams,
  gear: Uint32Array,
): AsyncGenerator<Uint8Array> {
  const chunker = makeChunker(params, gear);
  const state: CutState = { hash: 0, length: 0 };
  let pending: Uint8Array[] = [];
  let pendingLength = 0;
  const assemble = (last: Uint8Array): Uint8Array => {
    if (pending.length === 0) return last;
    const out = allocUninitialized(pendingLength + last.length);
    let offset = 0;
    for (const part of pending) {
      out.set(part, offset);
      offset += part.length;
    }
    out.set(last, offset);
    pending = [];
    pendingLength = 0;
    return out;
  };
  for await (const piece of source) {
    let pos = 0;
    while (pos < piece.length) {
      const cut = scanForCut(piece, pos, piece.length, state, chunker);
      if (cut < 0) {
        pending.push(pos === 0 ? piece : piece.subarray(pos));
        pendingLength += piece.length - pos;
        break;
      }
      yield assemble(piece.subarray(pos, cut));
      state.hash = 0;
      state.length = 0;
      pos = cut;
    }
  }
  if (pendingLength > 0) yield assemble(new Uint8Array(0));
}
