/** A Source over entries held in memory: for unit tests of the core and of the conformance suite. */
import { isValidPath, parentPath } from '../source/path.ts';
import type {
  EntryMetadata,
  EntryPath,
  EntryType,
  OpenedContent,
  SourceRecord,
  Timestamp,
} from '../source/record.ts';
import type { Source, SourceInfo } from '../source/source.ts';

/** One entry of a MemorySource. Only `path` and `type` are required. */
export interface MemoryEntry {
  readonly path: EntryPath;
  readonly type: EntryType;
  /** Content of a file (default empty). */
  readonly bytes?: Uint8Array;
  /** Default 2020-01-01T00:00:00Z. */
  readonly mtime?: Timestamp;
  /** Default 0o644 for files, 0o755 for directories, 0o777 for symlinks. */
  readonly mode?: number;
  readonly linkTarget?: string;
  readonly metadata?: EntryMetadata;
  readonly changeToken?: string;
  /** Yield the record with this error (and never open it). */
  readonly error?: string;
  /**
   * The complete metadata, known only once the file is opened: the record then has
   * `metadataOnOpen` (its `metadata` is the partial `metadata` above) and `open()` brings this.
   */
  readonly openedMetadata?: EntryMetadata;
}

/** Options of a MemorySource. */
export interface MemorySourceOptions {
  readonly info?: SourceInfo;
  /** Size of the chunks `open()` yields. Default 64 KiB. */
  readonly chunkSize?: number;
  /** The source's `concurrency` (files the engine should read at once). Default: none. */
  readonly concurrency?: number;
}

const DEFAULT_MTIME: Timestamp = { sec: 1_577_836_800, nsec: 0 };
const DEFAULT_MODE: Record<EntryType, number> = { file: 0o644, directory: 0o755, symlink: 0o777 };

/**
 * A Source yielding the given entries, plus the root and every parent directory they imply (as
 * directories with default attributes). Follows the Source contract: honours AbortSignal, opens
 * files any number of times after the scan. `opened` counts `open()` calls per path.
 */
export class MemorySource implements Source {
  readonly info: SourceInfo;
  readonly concurrency?: number;
  readonly #entries: Map<EntryPath, MemoryEntry>;
  readonly #chunkSize: number;
  /** How many times `open()` was called, per path. */
  readonly opened = new Map<EntryPath, number>();

  constructor(entries: readonly MemoryEntry[], options: MemorySourceOptions = {}) {
    this.info = options.info ?? { protocol: 'memory', origin: 'memory', root: '/' };
    this.#chunkSize = options.chunkSize ?? 64 * 1024;
    if (options.concurrency !== undefined) this.concurrency = options.concurrency;
    this.#entries = new Map();
    const add = (entry: MemoryEntry) => {
      if (!isValidPath(entry.path))
        throw new Error(`MemorySource: invalid path ${JSON.stringify(entry.path)}`);
      this.#entries.set(entry.path, entry);
    };
    add({ path: '/', type: 'directory' });
    for (const entry of entries) {
      for (let p = parentPath(entry.path); !this.#entries.has(p); p = parentPath(p))
        add({ path: p, type: 'directory' });
      add(entry);
    }
  }

  async *scan(signal?: AbortSignal): AsyncIterable<SourceRecord> {
    for (const entry of this.#entries.values()) {
      signal?.throwIfAborted();
      await Promise.resolve();
      signal?.throwIfAborted();
      yield this.#record(entry);
    }
  }

  async close(): Promise<void> {}

  #record(entry: MemoryEntry): SourceRecord {
    const bytes = entry.type === 'file' ? (entry.bytes ?? new Uint8Array(0)) : new Uint8Array(0);
    const chunkSize = this.#chunkSize;
    return {
      path: entry.path,
      type: entry.type,
      size: bytes.length,
      mtime: entry.mtime ?? DEFAULT_MTIME,
      mode: entry.mode ?? DEFAULT_MODE[entry.type],
      metadata: entry.metadata ?? {},
      ...(entry.linkTarget === undefined ? {} : { linkTarget: entry.linkTarget }),
      ...(entry.error === undefined ? {} : { error: entry.error }),
      changeToken: entry.changeToken ?? `memory:${bytes.length}`,
      ...(entry.openedMetadata === undefined ? {} : { metadataOnOpen: true }),
      open: async (): Promise<OpenedContent> => {
        if (entry.type !== 'file') throw new Error(`MemorySource: open() of ${entry.type} ${entry.path}`);
        this.opened.set(entry.path, (this.opened.get(entry.path) ?? 0) + 1);
        const content = (async function* () {
          for (let off = 0; off < bytes.length; off += chunkSize) yield bytes.slice(off, off + chunkSize);
        })();
        const metadata = entry.openedMetadata;
        return metadata === undefined ? content : Object.assign(content, { metadata });
      },
    };
  }
}
