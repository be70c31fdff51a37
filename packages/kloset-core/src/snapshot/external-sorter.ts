/**
 * An external merge sort of (key, value) records by key bytes, so that entries can arrive in any
 * order with bounded memory: records are kept in memory up to a budget, then sorted and spilled to
 * a temporary file (a run); `sorted()` merges the runs (k-way, through a heap) with the last
 * in-memory batch. When there are more runs than `maxFanIn`, runs are first merged into longer
 * runs, so open files and read buffers stay bounded too.
 *
 * Run file format: a sequence of `u32be(key length) || u32be(value length) || key || value`.
 */

import type { FileHandle } from 'node:fs/promises';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ExternalSorterOptions {
  /** Bytes of records kept in memory before spilling a run (default 64 MiB). */
  readonly memoryBytes?: number;
  /** Where to create the temporary directory (default: the OS temporary directory). */
  readonly tempDir?: string;
  /** Runs merged at once (default 64). */
  readonly maxFanIn?: number;
  /** Read buffer per run during merges (default 256 KiB). */
  readonly readBufferBytes?: number;
}

/** A sorted record. */
export interface SortedRecord {
  readonly key: Buffer;
  readonly value: Buffer;
}

/** Per-record bookkeeping cost assumed on top of the key and value bytes. */
const RECORD_OVERHEAD = 96;
const WRITE_BUFFER = 1024 * 1024;

interface Source {
  /** The current record, or undefined when exhausted. */
  head: SortedRecord | undefined;
  advance(): Promise<void>;
  close(): Promise<void>;
}

function compareRecords(a: SortedRecord, b: SortedRecord): number {
  return Buffer.compare(a.key, b.key);
}

class RunWriter {
  readonly #fh: FileHandle;
  #buf = Buffer.allocUnsafe(WRITE_BUFFER);
  #off = 0;
  bytes = 0;

  constructor(fh: FileHandle) {
    this.#fh = fh;
  }

  async write(key: Uint8Array, value: Uint8Array): Promise<void> {
    const need = 8 + key.length + value.length;
    if (this.#off + need > this.#buf.length) {
      await this.#drain();
      if (need > this.#buf.length) this.#buf = Buffer.allocUnsafe(need);
    }
    const b = this.#buf;
    b.writeUInt32BE(key.length, this.#off);
    b.writeUInt32BE(value.length, this.#off + 4);
    b.set(key, this.#off + 8);
    b.set(value, this.#off + 8 + key.length);
    this.#off += need;
    this.bytes += need;
  }

  async #drain(): Promise<void> {
    let done = 0;
    while (done < this.#off) {
      const { bytesWritten } = await this.#fh.write(this.#buf, done, this.#off - done);
      done += bytesWritten;
    }
    this.#off = 0;
  }

  async close(): Promise<void> {
    await this.#drain();
    await this.#fh.close();
  }
}

class RunReader implements Source {
  head: SortedRecord | undefined;
  readonly #fh: FileHandle;
  readonly #path: string;
  #buf: Buffer;
  #start = 0;
  #end = 0;
  #eof = false;

  private constructor(fh: FileHandle, path: string, bufferBytes: number) {
    this.#fh = fh;
    this.#path = path;
    this.#buf = Buffer.allocUnsafe(bufferBytes);
  }

  static async open(path: string, bufferBytes: number): Promise<RunReader> {
    const r = new RunReader(await open(path, 'r'), path, bufferBytes);
    await r.advance();
    return r;
  }

  async #fill(need: number): Promise<boolean> {
    while (this.#end - this.#start < need) {
      if (this.#eof) {
        if (this.#end === this.#start) return false;
        throw new Error(`sort run ${this.#path}: truncated record`);
      }
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

  async advance(): Promise<void> {
    if (!(await this.#fill(8))) {
      this.head = undefined;
      return;
    }
    const kl = this.#buf.readUInt32BE(this.#start);
    const vl = this.#buf.readUInt32BE(this.#start + 4);
    await this.#fill(8 + kl + vl);
    const s = this.#start + 8;
    // Copies: the buffer is reused for the next records.
    const key = Buffer.from(this.#buf.subarray(s, s + kl));
    const value = Buffer.from(this.#buf.subarray(s + kl, s + kl + vl));
    this.#start = s + kl + vl;
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

/** Sorts records by key with bounded memory. Add records, then iterate `sorted()` once. */
export class ExternalSorter {
  readonly #memoryBytes: number;
  readonly #tempParent: string;
  readonly #fanIn: number;
  readonly #readBuffer: number;
  #records: SortedRecord[] = [];
  #bytes = 0;
  #dir: string | undefined;
  #runs: string[] = [];
  #runSeq = 0;
  #count = 0;
  #spilledBytes = 0;
  #state: 'adding' | 'sorting' | 'closed' = 'adding';
  #spilling: Promise<void> | undefined;

  constructor(options: ExternalSorterOptions = {}) {
    this.#memoryBytes = options.memoryBytes ?? 64 * 1024 * 1024;
    this.#tempParent = options.tempDir ?? tmpdir();
    this.#fanIn = Math.max(2, options.maxFanIn ?? 64);
    this.#readBuffer = options.readBufferBytes ?? 256 * 1024;
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

  async #newRun(): Promise<{ path: string; writer: RunWriter }> {
    if (this.#dir === undefined) this.#dir = await mkdtemp(join(this.#tempParent, 'kloset-sort-'));
    const path = join(this.#dir, `run-${this.#runSeq++}`);
    return { path, writer: new RunWriter(await open(path, 'wx')) };
  }

  async #spill(): Promise<void> {
    const records = this.#records;
    this.#records = [];
    this.#bytes = 0;
    records.sort(compareRecords);
    const { path, writer } = await this.#newRun();
    for (const r of records) await writer.write(r.key, r.value);
    await writer.close();
    this.#spilledBytes += writer.bytes;
    this.#runs.push(path);
  }

  /** Merges `paths` into one new run and deletes them. */
  async #mergeRuns(paths: string[]): Promise<string> {
    const readers: RunReader[] = [];
    try {
      for (const p of paths) readers.push(await RunReader.open(p, this.#readBuffer));
      const { path, writer } = await this.#newRun();
      for await (const r of mergeSources(readers)) await writer.write(r.key, r.value);
      await writer.close();
      this.#spilledBytes += writer.bytes;
      return path;
    } finally {
      for (const r of readers) await r.close();
      for (const p of paths) await rm(p, { force: true });
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
      for (const p of this.#runs) sources.push(await RunReader.open(p, this.#readBuffer));
      yield* mergeSources(sources);
    } finally {
      for (const s of sources) await s.close();
      await this.close();
    }
  }

  /** Deletes the temporary files. Safe to call more than once. */
  async close(): Promise<void> {
    this.#state = 'closed';
    this.#records = [];
    const dir = this.#dir;
    this.#dir = undefined;
    this.#runs = [];
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }
}

function toBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}
