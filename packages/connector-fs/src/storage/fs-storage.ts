/** FsStorage: a Kloset store in a local directory. */
import { constants, type Dirent } from 'node:fs';
import { lstat, mkdir, open, opendir, readFile, stat, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  type ByteRange,
  ConnectorError,
  checkLeftoverAge,
  checkRange,
  checkResourceId,
  type LeftoverRemoval,
  type PutData,
  RESOURCE_ID_PATTERN,
  RESOURCE_KINDS,
  type ResourceInfo,
  type ResourceKind,
  type Storage,
  type StorageMode,
} from '@kloset/connector-contract';
import { closeQuietly } from '../fd-io.ts';
import { errnoOf, fsError } from '../fs-errors.ts';
import {
  commitExclusive,
  commitReplace,
  syncDir,
  TEMP_NAME_PATTERN,
  tempPathFor,
  writeAll,
  writeTempFile,
} from './atomic-file.ts';
import { CONFIG_FILE, KIND_DIRS, resourceDir, resourcePath } from './layout.ts';
import { openWithSize, type ReadHandle, ReadHandles, readAt } from './read-handles.ts';

/** Options of FsStorage. */
export interface FsStorageOptions {
  /** `read-only` refuses create/put/delete with `permission`. Default `read-write`. */
  readonly mode?: StorageMode;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** Packfile descriptors kept open for reading, at most. */
const READ_HANDLES = 16;

/** link() errors meaning "this file system has no hard links". */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/**
 * A Storage in a local directory (layout in layout.ts and the package README). Writes are atomic
 * and durable: a temporary file next to the final name is written, fsynced and renamed, then the
 * directory is fsynced. `create` commits the config with a hard link, which fails if a config
 * exists, so concurrent creates cannot both win. Ranged reads read at a position; listings stream
 * through `opendir`. Errors name the file; ENOENT maps to not_found, EACCES to permission.
 */
export class FsStorage implements Storage {
  readonly location: string;
  readonly mode: StorageMode;
  readonly #root: string;
  /** Directories known to exist: at most 256 packfile fan-out directories and 4 kinds. */
  readonly #madeDirs = new Set<string>();
  /** Descriptors of packfiles recently read (ranged reads of a restore come in runs). */
  readonly #handles = new ReadHandles(READ_HANDLES);

  /** `root` is resolved against the current directory. */
  constructor(root: string, options: FsStorageOptions = {}) {
    this.#root = resolve(root);
    this.location = this.#root;
    this.mode = options.mode ?? 'read-write';
  }

  async create(config: Uint8Array): Promise<void> {
    this.#writable('create');
    const configPath = join(this.#root, CONFIG_FILE);
    const context = { op: 'create', container: this.#root, key: configPath };
    try {
      await mkdir(this.#root, { recursive: true });
      const temp = tempPathFor(configPath);
      await writeTempFile(temp, config, CONFIG_FILE);
      try {
        await commitExclusive(temp, configPath);
      } catch (err) {
        if (!NO_HARD_LINKS.has(errnoOf(err) ?? '')) throw err;
        await this.#createWithoutLink(configPath, config);
      }
    } catch (err) {
      if (errnoOf(err) === 'EEXIST' && (await isFile(configPath))) {
        throw new ConnectorError('already_exists', `a kloset store already exists at ${this.#root}`, context);
      }
      throw fsError(err, 'create', configPath, this.#root);
    }
    try {
      for (const dir of Object.values(KIND_DIRS)) await mkdir(join(this.#root, dir), { recursive: true });
      await syncDir(this.#root);
    } catch (err) {
      throw fsError(err, 'create', this.#root, this.#root);
    }
  }

  async open(): Promise<Uint8Array> {
    const configPath = join(this.#root, CONFIG_FILE);
    try {
      return new Uint8Array(await readFile(configPath));
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') {
        throw new ConnectorError('not_found', `no kloset store at ${this.#root} (no ${CONFIG_FILE} file)`, {
          op: 'open',
          container: this.#root,
          key: configPath,
        });
      }
      throw fsError(err, 'open', configPath, this.#root);
    }
  }

  /**
   * Replaces the config as a put replaces a resource: a temporary file beside it, fsynced, renamed
   * over it, then the directory fsynced. A crash leaves the old config or the new one (and maybe a
   * temporary file, which `removeLeftovers` removes).
   */
  async replaceConfig(config: Uint8Array): Promise<void> {
    this.#writable('replaceConfig');
    const configPath = join(this.#root, CONFIG_FILE);
    if (!(await isFile(configPath))) {
      throw new ConnectorError('not_found', `no kloset store at ${this.#root} (no ${CONFIG_FILE} file)`, {
        op: 'replaceConfig',
        container: this.#root,
        key: configPath,
      });
    }
    try {
      const temp = tempPathFor(configPath);
      await writeTempFile(temp, config, CONFIG_FILE);
      await commitReplace(temp, configPath);
    } catch (err) {
      throw fsError(err, 'replaceConfig', configPath, this.#root);
    }
  }

  async put(kind: ResourceKind, id: string, data: PutData): Promise<void> {
    checkResourceId(kind, id, 'put', this.#root);
    this.#writable('put');
    const dir = resourceDir(this.#root, kind, id);
    const finalPath = join(dir, id);
    try {
      if (!this.#madeDirs.has(dir)) {
        await mkdir(dir, { recursive: true });
        this.#madeDirs.add(dir);
      }
      const temp = tempPathFor(finalPath);
      await writeTempFile(temp, data, `${kind}/${id}`);
      this.#handles.forget(finalPath);
      await commitReplace(temp, finalPath);
    } catch (err) {
      this.#madeDirs.delete(dir);
      if (errnoOf(err) === undefined && !(err instanceof ConnectorError)) throw err;
      throw fsError(err, 'put', finalPath, this.#root);
    }
  }

  async get(kind: ResourceKind, id: string, range?: ByteRange): Promise<Uint8Array> {
    checkResourceId(kind, id, 'get', this.#root);
    const path = resourcePath(this.#root, kind, id);
    const context = { op: 'get', container: this.#root, key: path };
    const readRange = async ({ fd, size }: ReadHandle): Promise<Uint8Array> => {
      const { offset, length } = range ?? { offset: 0, length: size };
      if (range) checkRange(range, size, context);
      const out = await readAt(fd, offset, length, range?.into);
      if (out.length < length) {
        throw new ConnectorError(
          'corrupt',
          `get ${path}: file shorter than ${offset + length} bytes`,
          context,
        );
      }
      return out;
    };
    try {
      // Packfiles never change once written: their descriptors are kept for the next ranges.
      if (kind === 'packfile') return await this.#handles.use(path, readRange);
      const handle = await openWithSize(path);
      try {
        return await readRange(handle);
      } finally {
        closeQuietly(handle.fd);
      }
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') {
        throw new ConnectorError('not_found', `${kind} ${id} not found in ${this.#root}`, context);
      }
      throw fsError(err, 'get', path, this.#root);
    }
  }

  async *list(kind: ResourceKind): AsyncIterable<ResourceInfo> {
    if (!RESOURCE_KINDS.includes(kind)) {
      throw new ConnectorError('invalid', `list: unknown resource kind ${JSON.stringify(kind)}`, {
        op: 'list',
      });
    }
    const base = join(this.#root, KIND_DIRS[kind]);
    if (kind !== 'packfile') {
      yield* this.#listDir(base, undefined);
      return;
    }
    for await (const name of this.#names(base)) {
      if (/^[0-9a-f]{2}$/.test(name)) yield* this.#listDir(join(base, name), name);
    }
  }

  async delete(kind: ResourceKind, id: string): Promise<void> {
    checkResourceId(kind, id, 'delete', this.#root);
    this.#writable('delete');
    const path = resourcePath(this.#root, kind, id);
    this.#handles.forget(path);
    try {
      await unlink(path);
    } catch (err) {
      if (errnoOf(err) !== 'ENOENT') throw fsError(err, 'delete', path, this.#root);
    }
  }

  /**
   * Removes the temporary files (`.<name>.<random>.tmp`, atomic-file.ts) that puts and creates
   * stopped by a crash left beside their final names, in the root, the kinds' directories and
   * the packfile fan-out directories, when last modified at least `olderThanMs` ago. A put in
   * progress modifies its temporary file with every write: only one stalled for longer than that
   * between two writes, or between its last write and its rename, could lose it, and it then
   * fails. Nothing else is touched (other files, other names).
   */
  async removeLeftovers(olderThanMs: number): Promise<LeftoverRemoval> {
    checkLeftoverAge(olderThanMs, this.#root);
    this.#writable('removeLeftovers');
    const cutoff = Date.now() - olderThanMs;
    const removed = { count: 0, bytes: 0 };
    const sweep = async (dir: string): Promise<void> => {
      for await (const name of this.#names(dir)) {
        if (!TEMP_NAME_PATTERN.test(name)) continue;
        const path = join(dir, name);
        try {
          const st = await lstat(path);
          if (!st.isFile() || st.mtimeMs > cutoff) continue;
          await unlink(path);
          removed.count++;
          removed.bytes += st.size;
        } catch (err) {
          // Renamed into place or removed meanwhile: not a leftover any more.
          if (errnoOf(err) !== 'ENOENT') throw fsError(err, 'removeLeftovers', path, this.#root);
        }
      }
    };
    await sweep(this.#root);
    for (const kind of RESOURCE_KINDS) {
      const base = join(this.#root, KIND_DIRS[kind]);
      await sweep(base);
      if (kind !== 'packfile') continue;
      for await (const name of this.#names(base)) {
        if (/^[0-9a-f]{2}$/.test(name)) await sweep(join(base, name));
      }
    }
    return removed;
  }

  async close(): Promise<void> {
    this.#handles.clear();
  }

  /** Resources in one directory: names that are ids (with the fan-out prefix, if any), sizes and mtimes. */
  async *#listDir(dir: string, prefix: string | undefined): AsyncGenerator<ResourceInfo> {
    for await (const name of this.#names(dir)) {
      if (!RESOURCE_ID_PATTERN.test(name) || (prefix !== undefined && !name.startsWith(prefix))) continue;
      const path = join(dir, name);
      try {
        const st = await stat(path);
        if (st.isFile()) yield { id: name, size: st.size, modified: Math.floor(st.mtimeMs) };
      } catch (err) {
        // Deleted since it was listed: the contract lets it be left out.
        if (errnoOf(err) !== 'ENOENT') throw fsError(err, 'list', path, this.#root);
      }
    }
  }

  /** Names in a directory, streamed; nothing if the directory does not exist. */
  async *#names(dir: string): AsyncGenerator<string> {
    let handle: Awaited<ReturnType<typeof opendir>>;
    try {
      handle = await opendir(dir, { bufferSize: 256 });
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return;
      throw fsError(err, 'list', dir, this.#root);
    }
    try {
      for (;;) {
        let entry: Dirent | null;
        try {
          entry = await handle.read();
        } catch (err) {
          throw fsError(err, 'list', dir, this.#root);
        }
        if (!entry) return;
        yield entry.name;
      }
    } finally {
      await handle.close().catch(() => {});
    }
  }

  /** Fallback of create on file systems without hard links: exclusive create, not atomic. */
  async #createWithoutLink(configPath: string, config: Uint8Array): Promise<void> {
    const handle = await open(configPath, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      await writeAll(handle, config);
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  #writable(op: string): void {
    if (this.mode === 'read-only') {
      throw new ConnectorError('permission', `${op}: storage ${this.#root} is opened read-only`, {
        op,
        container: this.#root,
      });
    }
  }
}
