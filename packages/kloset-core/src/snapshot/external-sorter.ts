/**
 * An external merge sort of (key, value) records by key bytes, so that entries can arrive in any
 * order with bounded memory: records are kept in memory up to a budget, then sorted and spilled to
 * a temporary file (a run); `sorted()` merges the runs (k-way, through a heap) with the last
 * in-memory batch. When there are more runs than `maxFanIn`, runs are first merged into longer
 * runs, so open files and read buffers stay bounded too.
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
  /** Bytes of records kept in memory before spilling a run (default: KLOSET_SORT_MEMORY, else 64 MiB). */
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

/** Per-record bookkeeping cost assumed on top of the key and value bytes. */
const RECORD_OVERHEAD = 96;
const BLOCK_HEADER = 5;
const TAG_BYTES = 16;
const LAST_BLOCK = 1;
const SPILL_PREFIX = 'kloset-sort-';
const SPILL_DIR = /^kloset-sort-(\d+)-(\d+)-[A-Za-z0-9]{6}$/;
const LEGACY_SPILL_DIR = /^kloset-sort-[A-Za-z0-9]{6}$/;
const STALE_AFTER_MS = 6 * 60 * 60 * 1000;
const TOUCH_EVERY_MS = 10 * 60 * 1000;

interface Source {
  /** The current record, or undefined when exhausted. */
  head: SortedRecord | undefined;
  advance(): Promise<void>;
  close(): Promise<void>;
}

/** A run file and its number (part of its blocks' nonces). */
interface Run {
  readonly path: string;
  readonly number: number;
}

function compareRecords(a: SortedRecord, b: SortedRecord): number {
  return Buffer.compare(a.key, b.key);
}

function nonce(run: number, block: number): Buffer {
  const n = Buffer.allocUnsafe(12);
  n.writeUInt32BE(run, 0);
  n.writeUInt32BE(Math.floor(block / 0x1_0000_0000), 4);
  n.writeUInt32BE(block >>> 0, 8);
  return n;
}

function putRecord(b: Buffer, off: number, key: Uint8Array, value: Uint8Array): void {
  b.writeUInt32BE(key.length, off);
  b.writeUInt32BE(value.length, off + 4);
  b.set(key, off + 8);
  b.set(value, off + 8 + key.length);
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

  async write(key: Uint8Array, value: Uint8Array): Promise<void> {
    const need = 8 + key.length + value.length;
    if (this.#off + need > this.#buf.length && this.#off > 0) {
      await this.#seal(this.#buf.subarray(0, this.#off), false);
      this.#off = 0;
    }
    if (need > this.#buf.length) {
      const alone = Buffer.allocUnsafe(need);
      putRecord(alone, 0, key, value);
      await this.#seal(alone, false);
      return;
    }
    putRecord(this.#buf, this.#off, key, value);
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
  head: SortedRecord | undefined;
  readonly #fh: FileHandle;
  readonly #path: string;
  readonly #key: KeyObject;
  readonly #run: number;
  readonly #size: number;
  #buf: Buffer;
  #start = 0;
  #end = 0;
  /** File offset of `#buf[#start]`. */
  #offset = 0;
  #eof = false;
  #block = 0;
  #last = false;
  #plain: Buffer = Buffer.alloc(0);
  #pos = 0;

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
    this.#buf = Buffer.allocUnsafe(Math.max(1, bufferBytes) + BLOCK_HEADER + TAG_BYTES);
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

  /** Makes `need` bytes available from `#start`; false if the file ends first. */
  async #fill(need: number): Promise<boolean> {
    while (this.#end - this.#start < need) {
      if (this.#eof) return false;
      if (this.#start > 0) {
        this.#buf.copy(this.#buf, 0, this.#start, this.#end);
        this.#end -= this.#start;
        this.#start = 0;
      }
      if (need > this.#buf.length) {
        const bigger = Buffer.allocUnsafe(need);
        this.#buf.copy(bigger, 0, 0, this.#end);
        this.#buf = bigger;
      }
      const { bytesRead } = await this.#fh.read(this.#buf, this.#end, this.#buf.length - this.#end, null);
      if (bytesRead === 0) this.#eof = true;
      this.#end += bytesRead;
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
    const length = this.#buf.readUInt32BE(this.#start);
    const total = BLOCK_HEADER + length + TAG_BYTES;
    // Checked before anything is allocated for it: the length is not authenticated yet.
    if (this.#offset + total > this.#size || !(await this.#fill(total))) {
      throw this.#corrupt(`block ${this.#block} runs past the end of the file`);
    }
    const s = this.#start;
    const header = this.#buf.subarray(s, s + BLOCK_HEADER);
    const decipher = createDecipheriv('aes-256-gcm', this.#key, nonce(this.#run, this.#block), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(header);
    decipher.setAuthTag(this.#buf.subarray(s + BLOCK_HEADER + length, s + total));
    const plain = decipher.update(this.#buf.subarray(s + BLOCK_HEADER, s + BLOCK_HEADER + length));
    try {
      decipher.final();
    } catch {
      throw this.#corrupt(`block ${this.#block} does not authenticate`);
    }
    this.#last = (header[4]! & LAST_BLOCK) !== 0;
    this.#block++;
    this.#start += total;
    this.#offset += total;
    this.#plain = plain;
    this.#pos = 0;
    return true;
  }

  async advance(): Promise<void> {
    while (this.#pos >= this.#plain.length) {
      if (!(await this.#nextBlock())) {
        this.head = undefined;
        return;
      }
    }
    const p = this.#plain;
    const s = this.#pos;
    const kl = s + 8 <= p.length ? p.readUInt32BE(s) : -1;
    const vl = s + 8 <= p.length ? p.readUInt32BE(s + 4) : -1;
    const end = s + 8 + kl + vl;
    if (kl < 0 || end > p.length) throw this.#corrupt(`a record overruns block ${this.#block - 1}`);
    // Copies: a record kept by the consumer must not hold its whole block.
    const key = Buffer.from(p.subarray(s + 8, s + 8 + kl));
    const value = Buffer.from(p.subarray(s + 8 + kl, end));
    this.#pos = end;
    this.head = { key, value };
  }

  async close(): Promise<void> {
    await this.#fh.close();
  }
}

class MemorySource implements Source {
  head: SortedRecord | undefined;
  readonly #records: (SortedRecord | undefined)[];
  #i = 0;

  constructor(records: (SortedRecord | undefined)[]) {
    this.#records = records;
    this.head = records[0];
  }

  async advance(): Promise<void> {
    this.#records[this.#i] = undefined; // release as we go
    this.#i++;
    this.head = this.#records[this.#i];
  }

  async close(): Promise<void> {}
}

/** A min-heap of sources ordered by their head record. */
async function* mergeSources(sources: Source[]): AsyncGenerator<SortedRecord> {
  const heap = sources.filter((s) => s.head !== undefined);
  const less = (a: Source, b: Source) => compareRecords(a.head!, b.head!) < 0;
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && less(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && less(heap[r]!, heap[m]!)) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  };
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) down(i);
  while (heap.length > 0) {
    const top = heap[0]!;
    yield top.head!;
    await top.advance();
    if (top.head === undefined) {
      const last = heap.pop()!;
      if (heap.length > 0) heap[0] = last;
    }
    down(0);
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
  #records: SortedRecord[] = [];
  #bytes = 0;
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
    this.#memoryBytes = options.memoryBytes ?? memoryFromEnv() ?? 64 * 1024 * 1024;
    this.#tempParent = options.tempDir ?? tmpdir();
    this.#fanIn = Math.max(2, options.maxFanIn ?? 64);
    this.#readBuffer = options.readBufferBytes ?? 256 * 1024;
    this.#swept = sweepOnce(this.#tempParent);
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
   * Adds a record; may spill a run to disk. The buffers are kept: do not reuse them. Concurrent
   * calls are allowed: records added while a run is being written wait for it (backpressure).
   */
  async add(key: Uint8Array, value: Uint8Array): Promise<void> {
    if (this.#state !== 'adding') throw new Error('external sorter: add after sorted()');
    this.#records.push({ key: toBuffer(key), value: toBuffer(value) });
    this.#bytes += key.length + value.length + RECORD_OVERHEAD;
    this.#count++;
    if (this.#bytes >= this.#memoryBytes && this.#spilling === undefined) {
      const spilling = this.#spill().finally(() => {
        this.#spilling = undefined;
      });
      this.#spilling = spilling;
    }
    if (this.#spilling !== undefined) await this.#spilling;
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

  /** Writes `records` (sorted) as one run. */
  async #writeRun(records: AsyncIterable<SortedRecord> | Iterable<SortedRecord>): Promise<Run> {
    const { run, writer } = await this.#newRun();
    try {
      for await (const r of records) await writer.write(r.key, r.value);
    } catch (e) {
      await writer.discard();
      throw e;
    }
    await writer.close();
    this.#spilledBytes += writer.bytes;
    return run;
  }

  async #spill(): Promise<void> {
    const records = this.#records;
    this.#records = [];
    this.#bytes = 0;
    records.sort(compareRecords);
    this.#runs.push(await this.#writeRun(records));
  }

  /** Merges `runs` into one new run and deletes them. */
  async #mergeRuns(runs: Run[]): Promise<Run> {
    const readers: RunReader[] = [];
    try {
      for (const run of runs) readers.push(await RunReader.open(run, this.#key!, this.#readBuffer));
      return await this.#writeRun(mergeSources(readers));
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
      const records = this.#records;
      this.#records = [];
      records.sort(compareRecords);
      sources.push(new MemorySource(records));
      for (const run of this.#runs) sources.push(await RunReader.open(run, this.#key!, this.#readBuffer));
      yield* mergeSources(sources);
    } finally {
      for (const s of sources) await s.close();
      await this.close();
    }
  }

  /** Deletes the temporary files (and forgets their key). Safe to call more than once. */
  async close(): Promise<void> {
    this.#state = 'closed';
    if (this.#spilling !== undefined) await this.#spilling.catch(() => {});
    this.#records = [];
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

function toBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}
