/**
 * The subset of tar (POSIX ustar) that package archives use: regular files with relative names of
 * at most 100 bytes. Written by `pkg build`, read by `pkg add`, both streaming: a file's body is
 * never held in memory whole.
 */
import { createReadStream } from 'node:fs';

const BLOCK = 512;
const NAME_BYTES = 100;

/** A malformed archive; the message says what is wrong (the caller adds which archive). */
export class TarError extends Error {
  override readonly name = 'TarError';
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

/** The 512-byte ustar header of a regular file. */
export function fileHeader(name: string, size: number, mode = 0o644, mtimeSec = 0): Buffer {
  const nameBytes = Buffer.from(name, 'utf8');
  if (nameBytes.length === 0 || nameBytes.length > NAME_BYTES) {
    throw new TarError(`entry name ${JSON.stringify(name)} must be 1 to ${NAME_BYTES} bytes`);
  }
  const h = Buffer.alloc(BLOCK);
  nameBytes.copy(h, 0);
  h.write(octal(mode, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(mtimeSec, 12), 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write('0', 156, 'ascii');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

/** Zero bytes that pad a body of `size` bytes to a whole block. */
export function padding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/** The two zero blocks that end an archive. */
export const END_OF_ARCHIVE: Buffer = Buffer.alloc(2 * BLOCK);

/** One file of an archive being read: consume `body` fully before asking for the next entry. */
export interface TarEntry {
  readonly name: string;
  readonly size: number;
  /** `0` for a regular file; anything else is refused by the readers of package archives. */
  readonly type: string;
  readonly body: AsyncIterable<Buffer>;
}

/** Pulls exact byte counts out of a stream of chunks. */
class ByteReader {
  readonly #source: AsyncIterator<Buffer>;
  #pending: Buffer = Buffer.alloc(0);
  #done = false;

  constructor(source: AsyncIterable<Buffer>) {
    this.#source = source[Symbol.asyncIterator]();
  }

  /** Up to `max` bytes (at least one), or undefined at the end of the stream. */
  async some(max: number): Promise<Buffer | undefined> {
    if (this.#pending.length === 0) {
      if (this.#done) return undefined;
      const next = await this.#source.next();
      if (next.done) {
        this.#done = true;
        return undefined;
      }
      this.#pending = next.value;
      if (this.#pending.length === 0) return this.some(max);
    }
    const out = this.#pending.subarray(0, max);
    this.#pending = this.#pending.subarray(out.length);
    return out;
  }

  /** Exactly `n` bytes (n small, e.g. a header), or undefined at a clean end of stream. */
  async exactly(n: number, what: string): Promise<Buffer | undefined> {
    const parts: Buffer[] = [];
    let got = 0;
    while (got < n) {
      const part = await this.some(n - got);
      if (!part) {
        if (got === 0) return undefined;
        throw new TarError(`truncated ${what}`);
      }
      parts.push(part);
      got += part.length;
    }
    return Buffer.concat(parts, n);
  }

  async skip(n: number, what: string): Promise<void> {
    let left = n;
    while (left > 0) {
      const part = await this.some(left);
      if (!part) throw new TarError(`truncated ${what}`);
      left -= part.length;
    }
  }
}

function field(h: Buffer, offset: number, length: number): string {
  const raw = h.subarray(offset, offset + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end < 0 ? length : end).toString('utf8');
}

function octalField(h: Buffer, offset: number, length: number, what: string): number {
  const text = field(h, offset, length).trim();
  if (!/^[0-7]+$/.test(text)) throw new TarError(`bad ${what} field in a header`);
  return Number.parseInt(text, 8);
}

function checkHeader(h: Buffer): void {
  const stored = octalField(h, 148, 8, 'checksum');
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  if (sum !== stored) throw new TarError('header checksum mismatch');
}

/** The entries of a tar stream, in order. Stops at the end-of-archive blocks. */
export async function* readTar(source: AsyncIterable<Buffer>): AsyncIterable<TarEntry> {
  const reader = new ByteReader(source);
  for (;;) {
    const header = await reader.exactly(BLOCK, 'header');
    if (!header) throw new TarError('no end-of-archive marker');
    if (header.every((b) => b === 0)) return;
    checkHeader(header);
    const prefix = field(header, 345, 155);
    const base = field(header, 0, NAME_BYTES);
    const name = prefix ? `${prefix}/${base}` : base;
    const size = octalField(header, 124, 12, 'size');
    const type = field(header, 156, 1) || '0';
    let left = size;
    const body: AsyncIterable<Buffer> = {
      async *[Symbol.asyncIterator]() {
        while (left > 0) {
          const part = await reader.some(Math.min(left, 1 << 20));
          if (!part) throw new TarError(`truncated body of ${JSON.stringify(name)}`);
          left -= part.length;
          yield part;
        }
      },
    };
    yield { name, size, type, body };
    await reader.skip(left, `body of ${JSON.stringify(name)}`);
    await reader.skip(padding(size).length, `padding of ${JSON.stringify(name)}`);
  }
}

/** A file to put in an archive: its name there and where to read it. */
export interface TarInput {
  readonly name: string;
  readonly path: string;
  readonly size: number;
}

/** The bytes of a tar archive of `files`, in order, bodies streamed from disk. */
export async function* tarStream(files: readonly TarInput[]): AsyncIterable<Buffer> {
  for (const f of files) {
    yield fileHeader(f.name, f.size);
    let size = 0;
    for await (const part of createReadStream(f.path) as AsyncIterable<Buffer>) {
      size += part.length;
      yield part;
    }
    if (size !== f.size) throw new TarError(`${f.path} changed size while being archived`);
    yield padding(size);
  }
  yield END_OF_ARCHIVE;
}
