/**
 * The worker thread of FsSource's walk (worker-walk.ts): walks the tree exactly as walk.ts does
 * (depth first, each directory's record before its entries, names as bytes), lstats each entry,
 * reads symlinks, and reads the content of small files right after their lstat. The main thread
 * gets batches of entries (numbers in a Float64Array, bigints in a BigInt64Array, names, link
 * targets and contents in one ArrayBuffer, all transferred) and builds the records.
 *
 * Flow control through shared memory: at most MAX_IN_FLIGHT batches are posted and not yet taken
 * (the worker waits on Atomics), and contents are read only while the bytes read and not yet
 * handed to the engine stay under the credit (else the file is read on the main thread when
 * opened, as without the worker). Only node: modules here: the worker runs outside the bundler or
 * test runner's resolution.
 */
import { Buffer } from 'node:buffer';
import {
  type BigIntStats,
  closeSync,
  constants,
  type Dirent,
  fstatSync,
  lstatSync,
  type Dir as NodeDir,
  opendirSync,
  openSync,
  readlinkSync,
  readSync,
  statSync,
} from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

/** Names that are not UTF-8 throw: the main thread escapes them (nameFromBytes). */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
/** Code points the main thread escapes too. */
const ESCAPED_RANGE = /[\uef80-\uefff]/;

/** What the main thread gives the worker. */
export interface WalkWorkerData {
  readonly root: string;
  /** Int32Array over it: CTRL_* slots. */
  readonly control: SharedArrayBuffer;
  /** BigInt64Array over it: [0] content bytes handed to the engine so far (credit returned). */
  readonly credit: SharedArrayBuffer;
  readonly batchEntries: number;
  readonly batchBytes: number;
  readonly creditBytes: number;
  readonly maxInFlight: number;
  /** Files of at most this many bytes are read. */
  readonly readMax: number;
  /** ScanContext.excludedDirectories: directories whose content is not listed. */
  readonly excludedDirectories?: string;
}

/**
 * Int32 slots of `control`: batches taken by the main thread, the stop flag, and the count of
 * taken batches the waiting worker wants to be woken at (NO_WAKE when it is not waiting): the
 * main thread wakes it only then (a wake-up per batch cost the main thread 1 ms each on 2 busy
 * cores).
 */
export const CTRL_TAKEN = 0;
export const CTRL_STOP = 1;
export const CTRL_WAKE_AT = 2;
/** Set while contents are not to be read (most files are unchanged since the previous backup). */
export const CTRL_NO_READ = 3;
export const NO_WAKE = 0x7fffffff;

/** Float64 fields per entry. */
export const F_KIND = 0;
export const F_DEPTH = 1;
export const F_MODE = 2;
export const F_UID = 3;
export const F_GID = 4;
export const F_NAME = 5;
export const F_NAME_LEN = 6;
export const F_LINK = 7;
export const F_LINK_LEN = 8;
export const F_CONTENT = 9;
export const F_CONTENT_LEN = 10;
export const F_CONTENT_STATE = 11;
export const F_ENTERED = 12;
export const FIELDS = 13;
/** BigInt64 fields per entry. */
export const B_SIZE = 0;
export const B_MTIME = 1;
export const B_CTIME = 2;
export const B_INO = 3;
export const BIG_FIELDS = 4;

/** F_KIND: the entry's type; KIND_LSTAT_FAILED: lstat failed (the type a guess from readdir). */
export const KIND_FILE = 0;
export const KIND_DIRECTORY = 1;
export const KIND_SYMLINK = 2;
export const KIND_LSTAT_FAILED = 4;

/** F_CONTENT_STATE: what the read of the content found. */
export const CONTENT_OK = 0;
export const CONTENT_SHRANK = 1;
export const CONTENT_GREW = 2;
export const CONTENT_MODIFIED = 3;

/** A batch posted to the main thread. `errors`: [entry index, message] of entries with an error. */
export interface BatchMessage {
  readonly type: 'batch';
  readonly count: number;
  readonly fields: Float64Array;
  readonly bigs: BigInt64Array;
  readonly bytes: ArrayBuffer;
  readonly errors: readonly (readonly [number, string])[];
}

/**
 * The walk failed: the root is not a directory (`notDirectory`), or a call failed (`op`: `scan`
 * for the root, `readdir` for a directory's listing, at `path`), with Node's errno and message.
 */
export interface FatalMessage {
  readonly type: 'fatal';
  readonly op: 'scan' | 'readdir';
  readonly path: Uint8Array | undefined;
  readonly notDirectory: boolean;
  readonly code: string | undefined;
  readonly message: string;
}

/** A failed readdir, which fails the walk. */
class ReaddirError extends Error {
  readonly path: Buffer;
  readonly code: string | undefined;
  constructor(path: Buffer, cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.path = path;
    this.code = errnoOf(cause);
  }
}

export type WalkMessage = BatchMessage | FatalMessage | { readonly type: 'end' };

const PATH_MAX = 4096;
const SLASH = 0x2f;
const LSTAT = { bigint: true } as const;
const DIR_OPTIONS = { bufferSize: 128, encoding: 'buffer' as BufferEncoding };

function errnoOf(err: unknown): string | undefined {
  if (err instanceof Error && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

/** As fs-errors.ts reasonOf. */
function reasonOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const errno = errnoOf(err);
  if (!errno) return err.message;
  const m = /^[A-Z0-9]+: ([^,]+)/.exec(err.message);
  return `${m ? m[1] : err.message} (${errno})`;
}

/** As native-path.ts withShortPath, synchronously. */
function withShortPath<T>(path: Buffer, fn: (short: Buffer) => T): T {
  if (path.length < PATH_MAX) return fn(path);
  let rest = path;
  let prefix = Buffer.alloc(0);
  let fd: number | undefined;
  try {
    while (prefix.length + rest.length >= PATH_MAX) {
      const cut = rest.lastIndexOf(SLASH, PATH_MAX - 1 - prefix.length);
      if (cut <= 0) {
        throw Object.assign(new Error('ENAMETOOLONG: name too long'), { code: 'ENAMETOOLONG' });
      }
      const dirFd = openSync(
        Buffer.concat([prefix, rest.subarray(0, cut)]),
        constants.O_RDONLY | constants.O_DIRECTORY,
      );
      if (fd !== undefined) closeSync(fd);
      fd = dirFd;
      prefix = Buffer.from(`/proc/self/fd/${fd}/`);
      rest = rest.subarray(cut + 1);
    }
    return fn(Buffer.concat([prefix, rest]));
  } finally {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {}
    }
  }
}

interface Level {
  readonly dir: NodeDir;
  /** The directory's path and a slash. */
  readonly prefix: Buffer;
  readonly depth: number;
}

/** The walk: fills batches and posts them. */
class Walker {
  readonly #data: WalkWorkerData;
  readonly #control: Int32Array;
  readonly #credit: BigInt64Array;
  #posted = 0;
  /** Content bytes read so far. */
  #read = 0;
  #count = 0;
  #fields: Float64Array;
  #bigs: BigInt64Array;
  #bytes: Buffer;
  #used = 0;
  #contentUsed = 0;
  #errors: [number, string][] = [];
  readonly #stack: Level[] = [];
  /** ScanContext.excludedDirectories, compiled. */
  readonly #skip: RegExp | undefined;
  /** Bytes of the root's path with its trailing `/`: an entry's path is what follows. */
  #rootPrefix = 0;

  constructor(data: WalkWorkerData) {
    this.#data = data;
    this.#skip =
      data.excludedDirectories === undefined ? undefined : new RegExp(data.excludedDirectories, 'u');
    this.#control = new Int32Array(data.control);
    this.#credit = new BigInt64Array(data.credit);
    this.#fields = new Float64Array(data.batchEntries * FIELDS);
    this.#bigs = new BigInt64Array(data.batchEntries * BIG_FIELDS);
    this.#bytes = Buffer.allocUnsafeSlow(data.batchBytes + data.readMax + 64 * 1024);
  }

  get #stopped(): boolean {
    return Atomics.load(this.#control, CTRL_STOP) !== 0;
  }

  run(): void {
    const root = this.#data.root;
    let rootStat: BigIntStats;
    let dir: NodeDir;
    try {
      rootStat = statSync(root, LSTAT);
      if (!rootStat.isDirectory()) {
        this.#post({
          type: 'fatal',
          op: 'scan',
          path: undefined,
          notDirectory: true,
          code: undefined,
          message: '',
        });
        return;
      }
      dir = opendirSync(root, DIR_OPTIONS);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.#post({
        type: 'fatal',
        op: 'scan',
        path: undefined,
        notDirectory: false,
        code: errnoOf(err),
        message,
      });
      return;
    }
    const rootBytes = Buffer.from(root);
    const prefix =
      rootBytes[rootBytes.length - 1] === SLASH ? rootBytes : Buffer.concat([rootBytes, Buffer.of(SLASH)]);
    this.#stack.push({ dir, prefix, depth: 0 });
    this.#rootPrefix = prefix.length;
    try {
      this.#add(KIND_DIRECTORY, -1, rootStat, undefined, 1);
      this.#walk();
      if (!this.#stopped) {
        this.#flush();
        this.#post({ type: 'end' });
      }
    } finally {
      for (const level of this.#stack) {
        try {
          level.dir.closeSync();
        } catch {}
      }
      this.#stack.length = 0;
    }
  }

  #walk(): void {
    const stack = this.#stack;
    while (stack.length > 0) {
      if (this.#stopped) return;
      const level = stack[stack.length - 1]!;
      let d: Dirent<Buffer> | null;
      try {
        d = level.dir.readSync() as Dirent<string | Buffer> | null as Dirent<Buffer> | null;
      } catch (err) {
        // As in walk.ts, a failed readdir fails the scan.
        throw new ReaddirError(level.prefix.length > 1 ? level.prefix.subarray(0, -1) : level.prefix, err);
      }
      if (!d) {
        stack.pop();
        try {
          level.dir.closeSync();
        } catch {}
        continue;
      }
      this.#entry(d, level);
    }
  }

  /**
   * True when the directory at native `path` is excluded (its content not listed). Its entry path
   * is its path under the root when that is plain UTF-8 (as the main thread makes it); a path
   * the main thread escapes is listed (the engine drops what is under it anyway).
   */
  #skipped(path: Buffer): boolean {
    if (this.#skip === undefined) return false;
    let rel: string;
    try {
      rel = STRICT_UTF8.decode(path.subarray(this.#rootPrefix));
    } catch {
      return false;
    }
    return !ESCAPED_RANGE.test(rel) && this.#skip.test(`/${rel}`);
  }

  #entry(d: Dirent<Buffer>, level: Level): void {
    const name = d.name;
    if (
      name.length === 0 ||
      (name[0] === 0x2e && (name.length === 1 || (name.length === 2 && name[1] === 0x2e)))
    )
      return;
    const path = Buffer.allocUnsafe(level.prefix.length + name.length);
    level.prefix.copy(path, 0);
    name.copy(path, level.prefix.length);
    let st: BigIntStats;
    try {
      st = withShortPath(path, (p) => lstatSync(p, LSTAT));
    } catch (err) {
      const guess = d.isDirectory() ? KIND_DIRECTORY : d.isSymbolicLink() ? KIND_SYMLINK : KIND_FILE;
      const reason = errnoOf(err) === 'ENOENT' ? 'vanished during the scan' : `lstat: ${reasonOf(err)}`;
      this.#add(guess | KIND_LSTAT_FAILED, level.depth, undefined, name, 0, reason);
      return;
    }
    if (st.isFile()) {
      this.#file(path, name, level.depth, st);
    } else if (st.isDirectory() && this.#skipped(path)) {
      this.#add(KIND_DIRECTORY, level.depth, st, name, 0);
    } else if (st.isDirectory()) {
      let sub: NodeDir;
      try {
        sub = withShortPath(path, (p) => opendirSync(p, DIR_OPTIONS));
      } catch (err) {
        this.#add(KIND_DIRECTORY, level.depth, st, name, 0, `opendir: ${reasonOf(err)}`);
        return;
      }
      const prefix = Buffer.allocUnsafe(path.length + 1);
      path.copy(prefix, 0);
      prefix[path.length] = SLASH;
      this.#stack.push({ dir: sub, prefix, depth: level.depth + 1 });
      this.#add(KIND_DIRECTORY, level.depth, st, name, 1);
    } else if (st.isSymbolicLink()) {
      let target: Buffer;
      try {
        target = withShortPath(path, (p) => readlinkSync(p, { encoding: 'buffer' }));
      } catch (err) {
        this.#add(KIND_SYMLINK, level.depth, st, name, 0, `readlink: ${reasonOf(err)}`);
        return;
      }
      this.#add(KIND_SYMLINK, level.depth, st, name, 0, undefined, target);
    }
    // Sockets, fifos and devices are not backed up.
  }

  /** A file's entry, its content read when it is small and the credit allows. */
  #file(path: Buffer, name: Buffer, depth: number, st: BigIntStats): void {
    const size = Number(st.size);
    const at = this.#add(KIND_FILE, depth, st, name, 0);
    if (size > this.#data.readMax || path.length >= PATH_MAX) return;
    if (Atomics.load(this.#control, CTRL_NO_READ) !== 0) return;
    if (this.#read - Number(Atomics.load(this.#credit, 0)) + size > this.#data.creditBytes) return;
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      return; // read (and the error reported) on the main thread when opened
    }
    const bytes = this.#bytes;
    const start = this.#used;
    try {
      let done = 0;
      const want = size + 1;
      for (;;) {
        const n = readSync(fd, bytes, start + done, want - done, done);
        done += n;
        if (n === 0 || done >= size) break;
      }
      let state = CONTENT_OK;
      let kept = size;
      if (done < size) {
        state = CONTENT_SHRANK;
        kept = done;
      } else if (done > size) {
        state = CONTENT_GREW;
      } else {
        const end = fstatSync(fd, LSTAT);
        if (end.size !== st.size) state = CONTENT_GREW;
        else if (end.mtimeNs !== st.mtimeNs) state = CONTENT_MODIFIED;
      }
      const f = this.#fields;
      const o = at * FIELDS;
      f[o + F_CONTENT] = start;
      f[o + F_CONTENT_LEN] = kept;
      f[o + F_CONTENT_STATE] = state;
      this.#used += kept;
      this.#contentUsed += kept;
      this.#read += kept;
    } catch {
      // read or fstat failed: read on the main thread when opened, as without the worker
    } finally {
      try {
        closeSync(fd);
      } catch {}
    }
    if (this.#contentUsed >= this.#data.batchBytes) this.#flush();
  }

  /** Adds an entry to the batch; returns its index. The batch is posted when full (after a file's content). */
  #add(
    kind: number,
    depth: number,
    st: BigIntStats | undefined,
    name: Buffer | undefined,
    entered: number,
    error?: string,
    link?: Buffer,
  ): number {
    if (
      this.#count === this.#data.batchEntries ||
      this.#used + 2 * PATH_MAX > this.#bytes.length - this.#data.readMax - 1
    )
      this.#flush();
    const i = this.#count++;
    const f = this.#fields;
    const o = i * FIELDS;
    f[o + F_KIND] = kind;
    f[o + F_DEPTH] = depth;
    f[o + F_ENTERED] = entered;
    f[o + F_CONTENT_LEN] = -1;
    f[o + F_LINK_LEN] = -1;
    if (name) {
      f[o + F_NAME] = this.#used;
      f[o + F_NAME_LEN] = name.length;
      this.#used += name.copy(this.#bytes, this.#used);
    } else {
      f[o + F_NAME_LEN] = 0;
    }
    if (link) {
      if (this.#used + link.length > this.#bytes.length) this.#grow(link.length);
      f[o + F_LINK] = this.#used;
      f[o + F_LINK_LEN] = link.length;
      this.#used += link.copy(this.#bytes, this.#used);
    }
    if (st) {
      f[o + F_MODE] = Number(st.mode & 0o7777n);
      f[o + F_UID] = Number(st.uid);
      f[o + F_GID] = Number(st.gid);
      const b = this.#bigs;
      const ob = i * BIG_FIELDS;
      b[ob + B_SIZE] = st.size;
      b[ob + B_MTIME] = st.mtimeNs;
      b[ob + B_CTIME] = st.ctimeNs;
      b[ob + B_INO] = st.ino;
    }
    if (error !== undefined) this.#errors.push([i, error]);
    return i;
  }

  #grow(more: number): void {
    const bigger = Buffer.allocUnsafeSlow(this.#bytes.length + more + this.#data.readMax);
    this.#bytes.copy(bigger, 0, 0, this.#used);
    this.#bytes = bigger;
  }

  /** Posts the batch (if any), after waiting until fewer than maxInFlight are untaken. */
  #flush(): void {
    if (this.#count === 0) return;
    const max = this.#data.maxInFlight;
    if (this.#posted - Atomics.load(this.#control, CTRL_TAKEN) >= max) {
      // Woken once at most half of them are left, not at each batch taken.
      const wakeAt = this.#posted - (max >> 1);
      Atomics.store(this.#control, CTRL_WAKE_AT, wakeAt);
      for (;;) {
        if (this.#stopped) return;
        const taken = Atomics.load(this.#control, CTRL_TAKEN);
        if (taken >= wakeAt) break;
        Atomics.wait(this.#control, CTRL_TAKEN, taken, 1000);
      }
      Atomics.store(this.#control, CTRL_WAKE_AT, NO_WAKE);
    }
    const n = this.#count;
    const bytes = new ArrayBuffer(this.#used);
    new Uint8Array(bytes).set(this.#bytes.subarray(0, this.#used));
    const fields = this.#fields.slice(0, n * FIELDS);
    const bigs = this.#bigs.slice(0, n * BIG_FIELDS);
    this.#post({ type: 'batch', count: n, fields, bigs, bytes, errors: this.#errors }, [
      bytes,
      fields.buffer,
      bigs.buffer,
    ]);
    this.#posted++;
    this.#count = 0;
    this.#used = 0;
    this.#contentUsed = 0;
    this.#errors = [];
  }

  #post(message: WalkMessage, transfer: ArrayBuffer[] = []): void {
    parentPort!.postMessage(message, transfer);
  }
}

if (parentPort) {
  const walker = new Walker(workerData as WalkWorkerData);
  try {
    walker.run();
  } catch (err) {
    const readdir = err instanceof ReaddirError;
    parentPort.postMessage({
      type: 'fatal',
      op: readdir ? 'readdir' : 'scan',
      path: readdir ? err.path : undefined,
      notDirectory: false,
      code: readdir ? err.code : errnoOf(err),
      message: err instanceof Error ? err.message : String(err),
    } satisfies FatalMessage);
  }
}
