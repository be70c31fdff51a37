/**
 * Payload compression (FORMAT.md §4.3): zstd through node:zlib, used only when it pays.
 *
 * - Data shorter than MIN_COMPRESS_LENGTH is never compressed.
 * - Data of SPREAD_MIN_LENGTH to SPREAD_MAX_LENGTH bytes whose bytes are spread like random data
 *   (looksRandom) is stored as is without calling zstd.
 * - Data of SAMPLE_THRESHOLD bytes or more is first sampled: SAMPLE_COUNT slices of SAMPLE_SLICE
 *   bytes spread evenly are compressed together; if that sample does not shrink below
 *   SAMPLE_MAX_RATIO the data is stored uncompressed (zstd on random data runs at ~200 MB/s, so
 *   skipping already-compressed media saves most of the cost).
 * - The zstd form is kept only if it is at most 7/8 of the original length.
 *
 * Sync variants run on the calling thread. Async variants run zstd in the libuv thread pool for
 * payloads of ASYNC_MIN_LENGTH bytes or more, at most ASYNC_CONCURRENCY at once, so large payloads
 * compress while the main thread chunks and encrypts; smaller ones run on the calling thread, as
 * a call in the thread pool costs more than their compression (for 8,000 payloads of 10 KiB, 8 at
 * a time: 6 s of CPU against 0.45 s on the calling thread, zstd contexts and stream set-up
 * dominating), and concurrent zstd contexts cost memory. (The thread-pool path ends its frame with
 * an empty last block: 3 bytes more than the sync path; both decode the same.)
 */
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { asUint8Array } from '../encoding/bytes.ts';
import { CorruptDataError } from './errors.ts';

/** The compression byte in front of every sealed payload. */
export const CompressionCodec = { None: 0, Zstd: 1 } as const;
export type CompressionCodec = (typeof CompressionCodec)[keyof typeof CompressionCodec];

/** What a store's config asks for. */
export type CompressionMode = 'zstd' | 'none';

/** A payload body and the codec it is in. */
export interface EncodedPayload {
  readonly codec: CompressionCodec;
  readonly body: Uint8Array;
}

/** Tuning of compressIfPays. */
export interface CompressOptions {
  /** zstd level (default 3). */
  readonly level?: number;
}

/** Default zstd level. */
export const DEFAULT_ZSTD_LEVEL = 3;
/** Below this length data is stored as is. */
export const MIN_COMPRESS_LENGTH = 128;
/** At and above this length data is sampled before being compressed. */
export const SAMPLE_THRESHOLD = 64 * 1024;
const SAMPLE_COUNT = 4;
const SAMPLE_SLICE = 4096;
const SAMPLE_MAX_RATIO = 0.97;
/** Decompressed payloads larger than this are refused unless the caller allows more. */
export const DEFAULT_MAX_PAYLOAD_LENGTH = 256 * 1024 * 1024;

/** node:zlib has zstd from Node 22.15 / 23.8; on older versions (engines allow 22.12) fail clearly. */
function zstd(): typeof zlib {
  if (typeof zlib.zstdCompressSync !== 'function') {
    throw new Error(`zstd compression needs Node >= 22.15 (this is ${process.version})`);
  }
  return zlib;
}

/** Payloads shorter than this are (de)compressed on the calling thread by the async variants. */
export const ASYNC_MIN_LENGTH = 256 * 1024;
/** zstd calls in the thread pool at once, at most (this machine class has 2 cores). */
const ASYNC_CONCURRENCY = 2;

type ZstdAsync = (data: Uint8Array, options: zlib.ZstdOptions) => Promise<Buffer>;
let compressAsync: ZstdAsync | undefined;
let decompressAsync: ZstdAsync | undefined;
let running = 0;
const waiting: (() => void)[] = [];

/** Runs `fn` once fewer than ASYNC_CONCURRENCY zstd calls run in the thread pool. */
async function limited<T>(fn: () => Promise<T>): Promise<T> {
  while (running >= ASYNC_CONCURRENCY) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await fn();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

const zstdCompressAsync: ZstdAsync = (data, options) => {
  compressAsync ??= promisify(zstd().zstdCompress);
  const f = compressAsync;
  return limited(() => f(data, options));
};
const zstdDecompressAsync: ZstdAsync = (data, options) => {
  decompressAsync ??= promisify(zstd().zstdDecompress);
  const f = decompressAsync;
  return limited(() => f(data, options));
};

/** The zstd parameters of each level, made once (a payload is compressed per blob). */
const zstdParams = new Map<number, Readonly<Record<number, number>>>();

function zstdOptions(length: number, level: number): zlib.ZstdOptions {
  let params = zstdParams.get(level);
  if (params === undefined) {
    params = Object.freeze({
      [zlib.constants.ZSTD_c_compressionLevel]: level,
      [zlib.constants.ZSTD_c_contentSizeFlag]: 1,
      [zlib.constants.ZSTD_c_checksumFlag]: 0,
    });
    zstdParams.set(level, params);
  }
  return { params, pledgedSrcSize: length };
}

const uncompressed = (data: Uint8Array): EncodedPayload => ({ codec: CompressionCodec.None, body: data });

/**
 * Small payloads of at least SPREAD_MIN_LENGTH and at most SPREAD_MAX_LENGTH bytes are not given to
 * zstd when their bytes are spread like random data: a zstd call through node:zlib costs ~20 us
 * whatever the length (a stream and a context are built per call), and such data (JPEG or PNG
 * thumbnails, compressed or encrypted objects) does not shrink to 7/8. The check costs ~3 us a
 * KiB, so it stops where zstd's own cost takes over.
 */
export const SPREAD_MIN_LENGTH = 1024;
export const SPREAD_MAX_LENGTH = 4096;
/** Below the bias-corrected entropy of uniform random bytes by this much, data counts as spread. */
const SPREAD_MARGIN_BITS = 0.2;
const byteCounts = new Uint32Array(256);

/**
 * True when the order-0 entropy of `data` (bits per byte, from its byte counts) is within
 * SPREAD_MARGIN_BITS of what uniform random bytes of this length give (8 bits less the estimate's
 * bias, 255 / (2 n ln 2): threshold 7.62 for 1 KiB, 7.76 for 4 KiB). Measured over 100,000
 * random payloads each: 1 KiB 7.725 at least (7.81 on average), 4 KiB 7.935 (7.955); text, JSON,
 * hex and base64 sit at 4-6 bits, and a 256-byte random block repeated (which zstd shrinks through
 * its matches) at 7.35 at most. Below 1 KiB the estimate spreads too much (512 random bytes: 7.44-7.59). Only
 * data repeating a long high-entropy piece within a few KiB is misjudged: stored as is, which a
 * reader accepts anywhere.
 */
export function looksRandom(data: Uint8Array): boolean {
  const n = data.length;
  byteCounts.fill(0);
  for (let i = 0; i < n; i++) byteCounts[data[i]!]!++;
  let sum = 0;
  for (let b = 0; b < 256; b++) {
    const c = byteCounts[b]!;
    if (c > 1) sum += c * Math.log2(c);
  }
  const entropy = Math.log2(n) - sum / n;
  return entropy >= 8 - 255 / (2 * n * Math.LN2) - SPREAD_MARGIN_BITS;
}

/**
 * True if compressing `data` is worth trying: by its length, for small data by how its bytes are
 * spread (looksRandom), for large data by a compressed sample.
 */
export function worthCompressing(data: Uint8Array, level: number = DEFAULT_ZSTD_LEVEL): boolean {
  if (data.length < MIN_COMPRESS_LENGTH) return false;
  if (data.length >= SPREAD_MIN_LENGTH && data.length <= SPREAD_MAX_LENGTH) return !looksRandom(data);
  if (data.length < SAMPLE_THRESHOLD) return true;
  const sample = new Uint8Array(SAMPLE_COUNT * SAMPLE_SLICE);
  const stride = Math.floor((data.length - SAMPLE_SLICE) / (SAMPLE_COUNT - 1));
  for (let i = 0; i < SAMPLE_COUNT; i++) {
    const at = i * stride;
    sample.set(data.subarray(at, at + SAMPLE_SLICE), i * SAMPLE_SLICE);
  }
  const out = zstd().zstdCompressSync(sample, zstdOptions(sample.length, level));
  return out.length <= sample.length * SAMPLE_MAX_RATIO;
}

function keepIfPays(data: Uint8Array, compressed: Uint8Array): EncodedPayload {
  return compressed.length * 8 <= data.length * 7
    ? { codec: CompressionCodec.Zstd, body: asUint8Array(compressed) }
    : uncompressed(data);
}

/** Compresses `data` with zstd when the mode allows and it pays; else returns it as is (no copy). */
export function compressIfPays(
  data: Uint8Array,
  mode: CompressionMode,
  options: CompressOptions = {},
): EncodedPayload {
  const level = options.level ?? DEFAULT_ZSTD_LEVEL;
  if (mode === 'none' || !worthCompressing(data, level)) return uncompressed(data);
  return keepIfPays(data, zstd().zstdCompressSync(data, zstdOptions(data.length, level)));
}

/**
 * compressIfPays with zstd in the thread pool for payloads of ASYNC_MIN_LENGTH bytes or more (the
 * sample, if any, is compressed on this thread); same output as compressIfPays.
 */
export async function compressIfPaysAsync(
  data: Uint8Array,
  mode: CompressionMode,
  options: CompressOptions = {},
): Promise<EncodedPayload> {
  if (data.length < ASYNC_MIN_LENGTH) return compressIfPays(data, mode, options);
  const level = options.level ?? DEFAULT_ZSTD_LEVEL;
  if (mode === 'none' || !worthCompressing(data, level)) return uncompressed(data);
  return keepIfPays(data, await zstdCompressAsync(data, zstdOptions(data.length, level)));
}

function checkCodec(codec: number, subject: string): void {
  if (codec !== CompressionCodec.None && codec !== CompressionCodec.Zstd) {
    throw new CorruptDataError(subject, `unknown compression byte ${codec}`);
  }
}

/** Largest output decompressed into one buffer of its known length (larger: zlib's default pieces). */
const EXACT_OUTPUT_MAX = 64 * 1024 * 1024;

/**
 * zlib options for at most `maxLength` bytes of output. With `exact` (the output is known to be
 * `maxLength` bytes), zlib writes it into one buffer of that size plus one byte (the byte of room
 * left tells zlib it needs no further buffer) instead of 16 KiB pieces concatenated at the end:
 * half the allocations and no copy.
 */
function decompressOptions(maxLength: number, exact: boolean): zlib.ZstdOptions {
  const max = Math.max(1, maxLength);
  return exact && max < EXACT_OUTPUT_MAX
    ? { maxOutputLength: max, chunkSize: Math.max(64, max + 1) }
    : { maxOutputLength: max };
}

/**
 * The plaintext of an encoded payload. `subject` names the object in errors; output longer than
 * `maxLength` is refused as corruption. `exact`: the plaintext should be `maxLength` bytes (the
 * caller still checks), which lets the output be allocated once.
 */
export function decompressBody(
  codec: number,
  body: Uint8Array,
  subject: string,
  maxLength: number = DEFAULT_MAX_PAYLOAD_LENGTH,
  exact = false,
): Uint8Array {
  checkCodec(codec, subject);
  if (codec === CompressionCodec.None) return body;
  try {
    return asUint8Array(zstd().zstdDecompressSync(body, decompressOptions(maxLength, exact)));
  } catch (err) {
    throw new CorruptDataError(subject, `zstd: ${(err as Error).message}`, { cause: err });
  }
}

/** decompressBody with zstd in the thread pool when `maxLength` is ASYNC_MIN_LENGTH or more. */
export async function decompressBodyAsync(
  codec: number,
  body: Uint8Array,
  subject: string,
  maxLength: number = DEFAULT_MAX_PAYLOAD_LENGTH,
  exact = false,
): Promise<Uint8Array> {
  if (maxLength < ASYNC_MIN_LENGTH) return decompressBody(codec, body, subject, maxLength, exact);
  checkCodec(codec, subject);
  if (codec === CompressionCodec.None) return body;
  try {
    return asUint8Array(await zstdDecompressAsync(body, decompressOptions(maxLength, exact)));
  } catch (err) {
    throw new CorruptDataError(subject, `zstd: ${(err as Error).message}`, { cause: err });
  }
}
