/**
 * An external merge sort of (key, value) records by key bytes, so that entries can arrive in any
 * order with bounded memory: records are kept in memory up to a budget, then sorted and spilled to
 * a temporary file (a run); `sorted()` merges the runs (k-way, through a heap) with the last
 * in-memory batch. When there are more runs than `maxFanIn`, runs are first merged into longer
 * runs, so open files and read buffers stay bounded too.
 *
 * In memory, records are copied into slabs of up to 1 MiB, in the layout of a run's blocks
 * (below), and known by one number each (slab, offset), which is what is sorted: the budget is
 * the bytes really held (slabs, plus 8 bytes a record for its number), outside the JS heap, and a
 * record costs no object of its own until `sorted()` hands it out. (Kept as two Buffers and an
 * object each, 100,000 backup entries held ~480 bytes each, counted as ~250, and the caller's
 * buffers pinned whatever else shared their memory.) The slabs of a spilled batch are reused.
 *
 * Nothing in plaintext outside the store: the records are file names, S3 keys and metadata, so no
 * run reaches the disk in clear. Each sorter draws a fresh random 256-bit key, held only in memory
 * (a KeyObject, gone with the process), and seals its runs block by block with AES-256-GCM
 * (node:crypto). Run file format: a sequence of blocks
 *
 *   u32be(plaintext length) || u8(flags: 1 = the run's last block) || ciphertext || 16-byte tag
 *
 * the 5-byte header authenticated as additional data, the nonce u32be(run number) ||
 * u64be(block number), never stored and never used twice under one key. A block's plaintext is
 * whole records, `u32be(key length) || u32be(value length) || key || value`, up to
 * `readBufferBytes` of them (a larger record is a block alone); every run ends with a last block,
 * possibly empty. A block is decrypted and authenticated before any of its records is used: a
 * modified, truncated, extended, reordered or swapped run file fails the sort with an error naming
 * the file instead of feeding wrong records to the snapshot. A run reader holds its read buffer
 * and one decrypted block.
 *
 * Spill directories are `<tempDir>/kloset-sort-<pid>-<pid namespace>-XXXXXX` (the namespace: the
 * inode number of /proc/self/ns/pid, 0 where there is none), made at the first spill and removed
 * by `close()` (which `sorted()` calls at its end). A process killed before that (kill -9, power
 * loss) leaves one behind, unreadable without the key that died with it. As hygiene, the first
 * sorter of a process removes, in its temporary directory, each such directory of its user whose
 * process is gone (same pid namespace, no such pid) or that is older than 6 hours (a reused pid,
 * another pid namespace, or the plaintext `kloset-sort-XXXXXX` of earlier versions). A sorter
 * touches its directory every 10 minutes, so a live process's directory is never taken for stale.
 *
 * `KLOSET_SORT_MEMORY` (bytes) sets the default memory budget (tests force spills with it).
 */

import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { lstat, mkdtemp, open, readdir, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ExternalSorterOptions {
  /** Bytes of records kept in memory before spilling a run (default: KLOSET_SORT_MEMORY, else 32 MiB). */
  readonly memoryBytes?: number;
  /** Where to create the temporary directory (default: the OS temporary directory). */
  readonly tempDir?: string;
  /** Runs merged at once (default 64). */
  readonly maxFanIn?: number;
  /** Read buffer per run during merges, and plaintext bytes per sealed block (default 256 KiB). */
  readonly readBufferBytes?: number;
}

/** A sorted record. */
export interface SortedRecord {
  readonly key: Buffer;
  readonly value: Buffer;
}

const BLOCK_HEADER = 5;
const TAG_BYTES = 16;
const LAST_BLOCK = 1;
/** A record's framing: u32be(key length) || u32be(value length), in slabs as in run blocks. */
const RECORD_HEADER = 8;
/** Slabs hold records up to this size each; a larger record gets a slab of its own. */
const SLAB_BYTES = 1 << 20;
/** A record's number is slab * 2^SLAB_SHIFT + offset: at most 4,095 slabs (spilled before). */
const SLAB_SHIFT = 20;
const MAX_SLABS = 4095;
/** Memory counted for each record's number on top of its bytes. */
const INDEX_BYTES = 8;
const SPILL_PREFIX = 'kloset-sort-';
const SPILL_DIR = /^kloset-sort-(\d+)-(\d+)-[A-Za-z0-9]{6}$/;
const LEGACY_SPILL_DIR = /^kloset-sort-[A-Za-z0-9]{6}$/;
const STALE_AFTER_MS = 6 * 60 * 60 * 1000;
const TOUCH_EVERY_MS = 10 * 60 * 1000;

/**
 * A sorted sequence of records. Its current record is the framed bytes `buf[start, end)`, key
 * `buf[start + 8, keyEnd)` and value `buf[keyEnd, end)`; `buf` undefined once exhausted.
 */
interface Source {
  buf: Buffer | undefined;
  start: number;
  keyEnd: number;
  end: number;
  /** Moves to the next record; a promise only when it has to read (run files). */
  advance(): Promise<void> | undefined;
  /** The current record as buffers the consumer may keep. */
  record(): SortedRecord;
  close(): Promise<void>;
}

/** A run file and its number (part of its blocks' nonces). */
interface Run {
  readonly path: string;
  readonly number: number;
}

/** True if the current key of `a` sorts before that of `b`. */
function before(a: Source, b: Source): boolean {
  return a.buf!.compare(b.buf!, b.start + RECORD_HEADER, b.keyEnd, a.start + RECORD_HEADER, a.keyEnd) < 0;
}

function nonce(run: number, block: number): Buffer {
  const n = Buffer.allocUnsafe(12);
  n.writeUInt32BE(run, 0);
  n.writeUInt32BE(Math.floor(block / 0x1_0000_0000), 4);
  n.writeUInt32BE(block >>> 0, 8);
  return n;
}

function u32(b: Buffer, off: number): number {
  return b[off]! * 0x100_0000 + ((b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!);
}

/** Writes records into a run, sealed in blocks of up to `blockBytes` plaintext bytes. */
class RunWriter {
  readonly #fh: FileHandle;
  readonly #key: KeyObject;
  readonly #run: number;
  readonly #buf: Buffer;
  #off = 0;
  #block = 0;
  /** Bytes written to the file. */
  bytes = 0;

  constructor(fh: FileHandle, key: KeyObject, run: number, blockBytes: number) {
    this.#fh = fh;
    this.#key = key;
    this.#run = run;
    this.#buf = Buffer.allocUnsafe(Math.max(1, blockBytes));
  }

  /** Appends the framed record `src[start, end)`. */
  async write(src: Buffer, start: number, end: number): Promise<void> {
    const need = end - start;
    if (this.#off + need > this.#buf.length && this.#off > 0) {
      await this.#seal(this.#buf.subarray(0, this.#off), false);
      this.#off = 0;
    }
    if (need > this.#buf.length) {
      await this.#seal(src.subarray(start, end), false);
      return;
    }
    src.copy(this.#buf, this.#off, start, end);
    this.#off += need;
  }

  async #seal(plain: Buffer, last: boolean): Promise<void> {
    const header = Buffer.allocUnsafe(BLOCK_HEADER);
    header.writeUInt32BE(plain.length, 0);
    header[4] = last ? LAST_BLOCK : 0;
    const cipher = createCipheriv('aes-256-gcm', this.#key, nonce(this.#run, this.#block++), {
      authTagLength: TAG_BYTES,
    });
    cipher.setAAD(header);
    const parts = [header, cipher.update(plain), cipher.final(), cipher.getAuthTag()];
    const total = BLOCK_HEADER + plain.length + TAG_BYTES;
    let { bytesWritten } = await this.#fh.writev(parts);
    if (bytesWritten < total) {
      const all = Buffer.concat(parts);
      while (bytesWritten < total) {
        bytesWritten += (await this.#fh.write(all, bytesWritten, total - bytesWritten)).bytesWritten;
      }
    }
    this.bytes += total;
  }

  /** Seals the last block and closes the file. */
  async close(): Promise<void> {
    try {
      await this.#seal(this.#buf.subarray(0, this.#off), true);
      this.#off = 0;
    } finally {
      await this.#fh.close();
    }
  }

  /** Closes the file without finishing it (after a failure). */
  async discard(): Promise<void> {
    await this.#fh.close().catch(() => {});
  }
}

/** Reads a run's records back, each block authenticated before its records are used. */
class RunReader implements Source {
  buf: Buffer | undefined;
  start = 0;
  keyEnd = 0;
  end = 0;
  readonly #fh: FileHandle;
  readonly #path: string;
  readonly #key: KeyObject;
  readonly #run: number;
  readonly #size: number;
  #raw: Buffer;
  #rawStart = 0;
  #rawEnd = 0;
  /** File offset of `#raw[#rawStart]`. */
  #offset = 0;
  #eof = false;
  #block = 0;
  #last = false;
  #plain: Buffer = Buffer.alloc(0);

  private constructor(
    fh: FileHandle,
    size: number,
    path: string,
    key: KeyObject,
    run: number,
    bufferBytes: number,
  ) {
    this.#fh = fh;
    this.#size = size;
    this.#path = path;
    this.#key = key;
    this.#run = run;
    this.#raw = Buffer.allocUnsafe(Math.max(1, bufferBytes) + BLOCK_HEADER + TAG_BYTES);
  }

  static async open(run: Run, key: KeyObject, bufferBytes: number): Promise<RunReader> {
    const fh = await open(run.path, 'r');
    let r: RunReader | undefined;
    try {
      r = new RunReader(fh, (await fh.stat()).size, run.path, key, run.number, bufferBytes);
      await r.advance();
      return r;
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  #corrupt(what: string): Error {
    return new Error(`temporary sort file ${this.#path} was modified or is corrupt: ${what}`);
  }

  /** Makes `need` bytes available from `#rawStart`; false if the file ends first. */
  async #fill(need: number): Promise<boolean> {
    while (this.#rawEnd - this.#rawStart < need) {
      if (this.#eof) return false;
      if (this.#rawStart > 0) {
        this.#raw.copy(this.#raw, 0, this.#rawStart, this.#rawEnd);
        this.#rawEnd -= this.#rawStart;
        this.#rawStart = 0;
      }
      if (need > this.#raw.length) {
        const bigger = Buffer.allocUnsafe(need);
        this.#raw.copy(bigger, 0, 0, this.#rawEnd);
        this.#raw = bigger;
      }
      const { bytesRead } = await this.#fh.read(
        this.#raw,
        this.#rawEnd,
        this.#raw.length - this.#rawEnd,
        null,
      );
      if (bytesRead === 0) this.#eof = true;
      this.#rawEnd += bytesRead;
    }
    return true;
  }

  /** Decrypts the next block into `#plain`; false after the last block. */
  async #nextBlock(): Promise<boolean> {
    if (this.#last) {
      if (await this.#fill(1)) throw this.#corrupt(`bytes after its last block (${this.#block})`);
      return false;
    }
    if (!(await this.#fill(BLOCK_HEADER))) throw this.#corrupt(`truncated before block ${this.#block}`);
    const length = this.#raw.readUInt32BE(this.#rawStart);
    const total = BLOCK_HEADER + length + TAG_BYTES;
    // Checked before anything is allocated for it: the length is not authenticated yet.
    if (this.#offset + total > this.#size || !(await this.#fill(total))) {
      throw this.#corrupt(`block ${this.#block} runs past the end of the file`);
    }
    const s = this.#rawStart;
    const header = this.#raw.subarray(s, s + BLOCK_HEADER);
    const decipher = createDecipheriv('aes-256-gcm', this.#key, nonce(this.#run, this.#block), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(header);
    decipher.setAuthTag(this.#raw.subarray(s + BLOCK_HEADER + length, s + total));
    const plain = decipher.update(this.#raw.subarray(s + BLOCK_HEADER, s + BLOCK_HEADER + length));
    try {
      decipher.final();
    } catch {
      throw this.#corrupt(`block ${this.#block} does not authenticate`);
    }
    this.#last = (header[4]! & LAST_BLOCK) !== 0;
    this.#block++;
    this.#rawStart += total;
    this.#offset += total;
    this.#plain = plain;
    this.end = 0;
    return true;
  }

  /** Frames the record at `end` of the current block as the current one. */
  #frame(): void {
    const p = this.#plain;
    const s = this.end;
    if (s + RECORD_HEADER > p.length) throw this.#corrupt(`a record overruns block ${this.#block - 1}`);
    const keyEnd = s + RECORD_HEADER + u32(p, s);
    const end = keyEnd + u32(p, s + 4);
    if (end > p.length) throw this.#corrupt(`a record overruns block ${this.#block - 1}`);
    this.buf = p;
    this.start = s;
    this.keyEnd = keyEnd;
    this.end = end;
  }

  advance(): Promise<void> | undefined {
    if (this.end < this.#plain.length) {
      this.#frame();
      return undefined;
    }
    return this.#advanceBlock();
  }

  async #advanceBlock(): Promise<void> {
    while (this.end >= this.#plain.length) {
      if (!(await this.#nextBlock())) {
        this.buf = undefined;
        return;
      }
    }
    this.#frame();
  }

  record(): SortedRecord {
    // One copy of the record: kept by the consumer, it must not hold its whole block.
    const p = this.buf!;
    const bytes = Buffer.allocUnsafe(this.end - this.start - RECORD_HEADER);
    p.copy(bytes, 0, this.start + RECORD_HEADER, this.end);
    const kl = this.keyEnd - this.start - RECORD_HEADER;
    return { key: bytes.subarray(0, kl), value: bytes.subarray(kl) };
  }

  async close(): Promise<void> {
    await this.#fh.close();
  }
}

/**
 * Records held in memory: framed in slabs, known by their numbers (slab << SLAB_SHIFT | offset),
 * sorted by key through those numbers.
 */
class Batch {
  readonly #slabBytes: number;
  #slabs: Buffer[] = [];
  /** Standard slabs of a spilled batch, for the next one. */
  #free: Buffer[] = [];
  #slab: Buffer | undefined;
  #used = 0;
  #records: number[] = [];
  /** Bytes held: slabs used (with the tails left behind) and the records' numbers. */
  bytes = 0;

  constructor(slabBytes: number) {
    this.#slabBytes = slabBytes;
  }

  get count(): number {
    return this.#records.length;
  }

  get full(): boolean {
    return this.#slabs.length >= MAX_SLABS;
  }

  add(key: Uint8Array, value: Uint8Array): void {
    const need = RECORD_HEADER + key.length + value.length;
    let slab = this.#slab;
    if (slab === undefined || this.#used + need > slab.length) {
      if (slab !== undefined) this.bytes += slab.length - this.#used;
      if (need > this.#slabBytes) {
        slab = Buffer.allocUnsafeSlow(need);
        this.#slab = undefined; // a slab of its own, left at once
      } else {
        slab = this.#free.pop() ?? Buffer.allocUnsafeSlow(this.#slabBytes);
        this.#slab = slab;
      }
      this.#used = 0;
      this.#slabs.push(slab);
    }
    const off = this.#used;
    const kl = key.length;
    slab.writeUInt32BE(kl, off);
    slab.writeUInt32BE(value.length, off + 4);
    // Small copies byte by byte: TypedArray.set costs more than the bytes below ~64 of them.
    if (kl <= 64) for (let i = 0; i < kl; i++) slab[off + RECORD_HEADER + i] = key[i]!;
    else slab.set(key, off + RECORD_HEADER);
    slab.set(value, off + RECORD_HEADER + kl);
    this.#records.push((this.#slabs.length - 1) * SLAB_BYTES + off);
    if (this.#slab !== undefined) this.#used = off + need;
    this.bytes += need + INDEX_BYTES;
  }

  /** Compares the keys of records `a` and `b`. */
  readonly #compare = (a: number, b: number): number => {
    const sa = this.#slabs[a >>> SLAB_SHIFT]!;
    const sb = this.#slabs[b >>> SLAB_SHIFT]!;
    const i = (a & (SLAB_BYTES - 1)) + RECORD_HEADER;
    const j = (b & (SLAB_BYTES - 1)) + RECORD_HEADER;
    const la = u32(sa, i - RECORD_HEADER);
    const lb = u32(sb, j - RECORD_HEADER);
    const n = Math.min(la, lb);
    for (let k = 0; k < n; k++) {
      const d = sa[i + k]! - sb[j + k]!;
      if (d !== 0) return d;
    }
    return la - lb;
  };

  /** The records in key order, as a source; the batch starts empty again. */
  take(): MemorySource {
    const records = this.#records;
    records.sort(this.#compare);
    const source = new MemorySource(this.#slabs, records);
    this.#records = [];
    this.#slabs = [];
    this.#slab = undefined;
    this.#used = 0;
    this.bytes = 0;
    return source;
  }

  /** Keeps the standard slabs of `source` (written out) for the next records. */
  recycle(source: MemorySource): void {
    for (const s of source.slabs) if (s.length === this.#slabBytes) this.#free.push(s);
    source.slabs.length = 0;
  }

  /** Drops everything held. */
  clear(): void {
    this.#records = [];
    this.#slabs = [];
    this.#free = [];
    this.#slab = undefined;
    this.bytes = 0;
  }
}

class MemorySource implements Source {
  buf: Buffer | undefined;
  start = 0;
  keyEnd = 0;
  end = 0;
  readonly slabs: Buffer[];
  readonly #records: number[];
  #i = -1;

  constructor(slabs: Buffer[], records: number[]) {
    this.slabs = slabs;
    this.#records = records;
    this.advance();
  }

  advance(): undefined {
    const r = this.#records[++this.#i];
    if (r === undefined) {
      this.buf = undefined;
      return undefined;
    }
    const b = this.slabs[r >>> SLAB_SHIFT]!;
    const s = r & (SLAB_BYTES - 1);
    this.buf = b;
    this.start = s;
    this.keyEnd = s + RECORD_HEADER + u32(b, s);
    this.end = this.keyEnd + u32(b, s + 4);
    return undefined;
  }

  record(): SortedRecord {
    // Views of the slab: the slabs stay until the sort is over anyway.
    const b = this.buf!;
    return {
      key: b.subarray(this.start + RECORD_HEADER, this.keyEnd),
      value: b.subarray(this.keyEnd, this.end),
    };
  }

  async close(): Promise<void> {}
}

/** A min-heap of sources ordered by their current key; `next` moves the smallest on. */
class Merge {
  readonly #heap: Source[];

  constructor(sources: Source[]) {
    this.#heap = sources.filter((s) => s.buf !== undefined);
    for (let i = (this.#heap.length >> 1) - 1; i >= 0; i--) this.#down(i);
  }

  /** The source holding the smallest record, or undefined when all are exhausted. */
  get top(): Source | undefined {
    return this.#heap[0];
  }

  /** Advances the top source and restores the heap. */
  async next(): Promise<void> {
    const heap = this.#heap;
    const top = heap[0]!;
    const wait = top.advance();
    if (wait !== undefined) await wait;
    if (top.buf === undefined) {
      const last = heap.pop()!;
      if (heap.length === 0) return;
      heap[0] = last;
    }
    this.#down(0);
  }

  #down(i: number): void {
    const heap = this.#heap;
    const n = heap.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && before(heap[l]!, heap[m]!)) m = l;
      if (r < n && before(heap[r]!, heap[m]!)) m = r;
      if (m === i) return;
      const t = heap[i]!;
      heap[i] = heap[m]!;
      heap[m] = t;
      i = m;
    }
  }
}

let pidNamespace: string | undefined;

/** This process's pid namespace: the inode number of /proc/self/ns/pid, '0' where there is none. */
function pidNamespaceId(): string {
  if (pidNamespace === undefined) {
    try {
      pidNamespace = /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] ?? '0';
    } catch {
      pidNamespace = '0';
    }
  }
  return pidNamespace;
}

/** The start of the names of the spill directories of process `pid` (of this pid namespace). */
export function spillDirPrefix(pid: number = process.pid): string {
  return `${SPILL_PREFIX}${pid}-${pidNamespaceId()}-`;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the spill directories in `parent` left by dead processes of this user (see the header). */
async function removeStaleSpillDirs(parent: string): Promise<void> {
  let names: string[];
  try {
    names = (await readdir(parent)).filter((n) => n.startsWith(SPILL_PREFIX));
  } catch {
    return;
  }
  const uid = process.getuid?.();
  for (const name of names) {
    const m = SPILL_DIR.exec(name);
    if (m === null && !LEGACY_SPILL_DIR.test(name)) continue;
    const path = join(parent, name);
    try {
      const st = await lstat(path);
      if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
      const dead = m !== null && m[2] === pidNamespaceId() && !processAlive(Number(m[1]));
      if (dead || Date.now() - st.mtimeMs > STALE_AFTER_MS) await rm(path, { recursive: true, force: true });
    } catch {
      // Gone already (another process swept it), or not ours to remove.
    }
  }
}

/** Temporary directories already swept by this process. */
const swept = new Map<string, Promise<void>>();

function sweepOnce(parent: string): Promise<void> {
  let done = swept.get(parent);
  if (done === undefined) {
    done = removeStaleSpillDirs(parent).catch(() => {});
    swept.set(parent, done);
  }
  return done;
}

function memoryFromEnv(): number | undefined {
  const configured = process.env.KLOSET_SORT_MEMORY;
  if (configured === undefined || configured === '') return undefined;
  const n = Number(configured);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** Sorts records by key with bounded memory. Add records, then iterate `sorted()` once. */
export class ExternalSorter {
  readonly #memoryBytes: number;
  readonly #tempParent: string;
  readonly #fanIn: number;
  readonly #readBuffer: number;
  readonly #swept: Promise<void>;
  readonly #batch: Batch;
  #dir: string | undefined;
  #key: KeyObject | undefined;
  #touch: NodeJS.Timeout | undefined;
  #runs: Run[] = [];
  #runSeq = 0;
  #count = 0;
  #spilledBytes = 0;
  #state: 'adding' | 'sorting' | 'closed' = 'adding';
  #spilling: Promise<void> | undefined;

  constructor(options: ExternalSorterOptions = {}) {
    this.#memoryBytes = options.memoryBytes ?? memoryFromEnv() ?? 32 * 1024 * 1024;
    this.#tempParent = options.tempDir ?? tmpdir();
    this.#fanIn = Math.max(2, options.maxFanIn ?? 64);
    this.#readBuffer = options.readBufferBytes ?? 256 * 1024;
    this.#swept = sweepOnce(this.#tempParent);
    // Slabs of 1 MiB, smaller under a small budget (at least 4 KiB: a slab per record would
    // cost more than the records).
    let slab = SLAB_BYTES;
    while (slab > 4096 && slab > this.#memoryBytes / 4) slab >>= 1;
    this.#batch = new Batch(slab);
  }

  /** Records added so far. */
  get count(): number {
    return this.#count;
  }

  /** Runs written to disk so far (including intermediate merges). */
  get runsWritten(): number {
    return this.#runSeq;
  }

  /** Bytes written to run files so far. */
  get spilledBytes(): number {
    return this.#spilledBytes;
  }

  /**
   * Adds a record (copied: the caller may reuse its buffers); may spill a run to disk. Concurrent
   * calls are allowed: records added while a run is being written wait for it (backpressure).
   */
  add(key: Uint8Array, value: Uint8Array): Promise<void> {
    if (this.#state !== 'adding') return Promise.reject(new Error('external sorter: add after sorted()'));
    if (this.#spilling !== undefined) return this.#spilling.then(() => this.add(key, value));
    this.#batch.add(key, value);
    this.#count++;
    if (this.#batch.bytes >= this.#memoryBytes || this.#batch.full) {
      const spilling = this.#spill().finally(() => {
        this.#spilling = undefined;
      });
      this.#spilling = spilling;
      return spilling;
    }
    return DONE;
  }

  async #newRun(): Promise<{ run: Run; writer: RunWriter }> {
    if (this.#dir === undefined || this.#key === undefined) {
      await this.#swept;
      const dir = await mkdtemp(join(this.#tempParent, spillDirPrefix()));
      this.#dir = dir;
      const secret = randomBytes(32);
      this.#key = createSecretKey(secret);
      secret.fill(0);
      this.#touch = setInterval(() => {
        const now = new Date();
        utimes(dir, now, now).catch(() => {});
      }, TOUCH_EVERY_MS);
      this.#touch.unref();
    }
    const number = this.#runSeq++;
    const path = join(this.#dir, `run-${number}`);
    const fh = await open(path, 'wx', 0o600);
    return { run: { path, number }, writer: new RunWriter(fh, this.#key, number, this.#readBuffer) };
  }

  /** Writes the records of `sources`, merged, as one run. */
  async #writeRun(sources: Source[]): Promise<Run> {
    const { run, writer } = await this.#newRun();
    try {
      if (sources.length === 1) {
        const s = sources[0]!;
        while (s.buf !== undefined) {
          await writer.write(s.buf, s.start, s.end);
          const wait = s.advance();
          if (wait !== undefined) await wait;
        }
      } else {
        const merge = new Merge(sources);
        for (let s = merge.top; s !== undefined; s = merge.top) {
          await writer.write(s.buf!, s.start, s.end);
          await merge.next();
        }
      }
    } catch (e) {
      await writer.discard();
      throw e;
    }
    await writer.close();
    this.#spilledBytes += writer.bytes;
    return run;
  }

  async #spill(): Promise<void> {
    const source = this.#batch.take();
    this.#runs.push(await this.#writeRun([source]));
    this.#batch.recycle(source);
  }

  /** Merges `runs` into one new run and deletes them. */
  async #mergeRuns(runs: Run[]): Promise<Run> {
    const readers: RunReader[] = [];
    try {
      for (const run of runs) readers.push(await RunReader.open(run, this.#key!, this.#readBuffer));
      return await this.#writeRun(readers);
    } finally {
      for (const r of readers) await r.close();
      for (const run of runs) await rm(run.path, { force: true });
    }
  }

  /** Every record in key order (records with equal keys in unspecified order). Call once. */
  async *sorted(): AsyncGenerator<SortedRecord> {
    if (this.#state !== 'adding') throw new Error('external sorter: sorted() called twice');
    this.#state = 'sorting';
    const sources: Source[] = [];
    try {
      if (this.#spilling !== undefined) await this.#spilling;
      while (this.#runs.length + 1 > this.#fanIn) {
        const batch = this.#runs.splice(0, this.#fanIn);
        this.#runs.push(await this.#mergeRuns(batch));
      }
      const memory = this.#batch.take();
      this.#batch.clear();
      sources.push(memory);
      for (const run of this.#runs) sources.push(await RunReader.open(run, this.#key!, this.#readBuffer));
      if (sources.length === 1) {
        for (; memory.buf !== undefined; memory.advance()) yield memory.record();
      } else {
        const merge = new Merge(sources);
        for (let s = merge.top; s !== undefined; s = merge.top) {
          yield s.record();
          await merge.next();
        }
      }
    } finally {
      for (const s of sources) await s.close();
      await this.close();
    }
  }

  /** Deletes the temporary files (and forgets their key). Safe to call more than once. */
  async close(): Promise<void> {
    this.#state = 'closed';
    if (this.#spilling !== undefined) await this.#spilling.catch(() => {});
    this.#batch.clear();
    const dir = this.#dir;
    this.#dir = undefined;
    this.#key = undefined;
    clearInterval(this.#touch);
    this.#touch = undefined;
    this.#runs = [];
    await this.#swept;
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }
}

const DONE: Promise<void> = Promise.resolve();
