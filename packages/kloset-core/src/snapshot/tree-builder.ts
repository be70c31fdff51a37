/**
 * Builds a snapshot's B+tree bottom-up from entries given in key order (docs/FORMAT.md §8.2). One
 * open node per level: memory is one node per level, whatever the number of entries.
 */
import { type BlobId, BlobKind, type BlobStore } from '../repository/blob-store.ts';
import type { SnapshotEntry } from './entry.ts';
import { encodeEntry } from './entry-codec.ts';
import { decodeSortKey, type EntryKey, keyPath, sortKey } from './entry-key.ts';
import { encodeChildRef, encodeNode, nodeOverhead } from './tree-node.ts';

/** Node size limits; the defaults are the format's (64 KiB of encoded items, 1,000 items). */
export interface TreeBuilderOptions {
  readonly maxNodeBytes?: number;
  readonly maxNodeEntries?: number;
}

/** What building a tree produced. */
export interface TreeBuildResult {
  /** The root node's id. */
  readonly root: BlobId;
  readonly entries: number;
  /** Tree nodes written (including deduplicated ones). */
  readonly nodes: number;
  /** Levels: 1 when the root is a leaf. */
  readonly height: number;
  /** Tree nodes that were new to the store, and the bytes they added. */
  readonly newBlobs: number;
  readonly storedBytes: number;
}

interface Level {
  items: Uint8Array[];
  bytes: number;
  /** Entries below the items of this level's open node. */
  count: number;
  first: EntryKey | undefined;
  /** The node id of the last child reference added (internal levels). */
  lastChild: BlobId | undefined;
}

export const DEFAULT_MAX_NODE_BYTES = 64 * 1024;
export const DEFAULT_MAX_NODE_ENTRIES = 1000;

/** Builds one tree; `add` entries in strictly increasing key order, then `finish` once. */
export class TreeBuilder {
  readonly #store: BlobStore;
  readonly #maxBytes: number;
  readonly #maxEntries: number;
  readonly #levels: Level[] = [];
  #lastKey: Buffer | undefined;
  #entries = 0;
  #nodes = 0;
  #newBlobs = 0;
  #storedBytes = 0;
  #finished = false;

  constructor(store: BlobStore, options: TreeBuilderOptions = {}) {
    this.#store = store;
    this.#maxBytes = options.maxNodeBytes ?? DEFAULT_MAX_NODE_BYTES;
    this.#maxEntries = options.maxNodeEntries ?? DEFAULT_MAX_NODE_ENTRIES;
    if (this.#maxEntries < 2) throw new Error('maxNodeEntries must be at least 2');
  }

  /** Adds an entry. */
  add(entry: SnapshotEntry): Promise<void> {
    return this.addEncoded(sortKey(entry.path, entry.type), encodeEntry(entry));
  }

  /** Adds an entry given as its sort key and its encoded map (see entry-key.ts, entry-codec.ts). */
  async addEncoded(key: Buffer, encoded: Uint8Array): Promise<void> {
    if (this.#finished) throw new Error('tree builder already finished');
    if (this.#lastKey !== undefined && Buffer.compare(this.#lastKey, key) >= 0) {
      const prev = keyPath(decodeSortKey(this.#lastKey));
      const cur = keyPath(decodeSortKey(key));
      throw new Error(
        Buffer.compare(this.#lastKey, key) === 0
          ? `duplicate entry ${cur} in snapshot tree`
          : `snapshot tree entries out of order: ${cur} after ${prev}`,
      );
    }
    this.#lastKey = key;
    this.#entries++;
    await this.#push(0, encoded, 1, () => decodeSortKey(key));
  }

  async #push(depth: number, item: Uint8Array, count: number, first: () => EntryKey): Promise<void> {
    let level = this.#levels[depth];
    if (level === undefined) {
      level = { items: [], bytes: 0, count: 0, first: undefined, lastChild: undefined };
      this.#levels.push(level);
    }
    const minItems = depth === 0 ? 1 : 2;
    if (
      level.items.length >= minItems &&
      (level.items.length >= this.#maxEntries ||
        level.bytes + item.length + nodeOverhead(level.items.length + 1) > this.#maxBytes)
    ) {
      await this.#flush(depth);
    }
    if (level.items.length === 0) level.first = first();
    level.items.push(item);
    level.bytes += item.length;
    level.count += count;
  }

  async #write(depth: number, level: Level): Promise<BlobId> {
    const node = encodeNode(depth === 0, level.items);
    const res = await this.#store.putBlob(BlobKind.Tree, node);
    this.#nodes++;
    if (res.stored) {
      this.#newBlobs++;
      this.#storedBytes += res.storedBytes;
    }
    return res.id;
  }

  async #flush(depth: number): Promise<void> {
    const level = this.#levels[depth]!;
    const id = await this.#write(depth, level);
    const first = level.first!;
    const count = level.count;
    level.items = [];
    level.bytes = 0;
    level.count = 0;
    level.first = undefined;
    await this.#push(depth + 1, encodeChildRef(first, id, count), count, () => first);
    this.#levels[depth + 1]!.lastChild = id;
  }

  /** Writes the remaining open nodes and returns the root. */
  async finish(): Promise<TreeBuildResult> {
    if (this.#finished) throw new Error('tree builder already finished');
    this.#finished = true;
    if (this.#levels.length === 0) {
      this.#levels.push({ items: [], bytes: 0, count: 0, first: undefined, lastChild: undefined });
    }
    for (let depth = 0; ; depth++) {
      const level = this.#levels[depth]!;
      if (depth === this.#levels.length - 1) {
        const root =
          depth > 0 && level.items.length === 1 ? level.lastChild! : await this.#write(depth, level);
        const height = depth > 0 && level.items.length === 1 ? depth : depth + 1;
        return {
          root,
          entries: this.#entries,
          nodes: this.#nodes,
          height,
          newBlobs: this.#newBlobs,
          storedBytes: this.#storedBytes,
        };
      }
      if (level.items.length > 0) await this.#flush(depth);
    }
  }
}
