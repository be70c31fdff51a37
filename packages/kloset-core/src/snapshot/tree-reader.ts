/**
 * Reads a snapshot's B+tree: point lookups, directory listings and sub-tree scans in key order,
 * through a small LRU cache of decoded nodes. A scan holds one node per level (the path from the
 * root to the current leaf) plus the cache: memory does not grow with the size of the tree.
 */
import type { EntryPath, EntryType } from '@kloset/connector-contract';
import { toHex } from '../encoding/bytes.ts';
import { type BlobId, BlobKind, type BlobStore } from '../repository/blob-store.ts';
import type { SnapshotEntry } from './entry.ts';
import { childrenPrefix, hasPrefix, ROOT_SORT_KEY, sortKey, subtreePrefix } from './entry-key.ts';
import { LruCache } from './lru-cache.ts';
import { decodeNode, type InternalNode, type LeafNode, type TreeNode } from './tree-node.ts';

export interface TreeReaderOptions {
  /** Decoded nodes kept in memory (default 32; a node holds up to about 64 KiB encoded). */
  readonly cacheNodes?: number;
  /** Names the tree in errors, e.g. `snapshot 1a2b3c4d`. */
  readonly label?: string;
}

/** An entry with its sort key, as yielded by `scan`. */
export interface KeyedEntry {
  readonly key: Buffer;
  readonly entry: SnapshotEntry;
}

/** Index of the first key > `key` (all keys <= `key` are before it). */
function upperBound(keys: readonly Buffer[], key: Buffer): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (Buffer.compare(keys[mid]!, key) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first key >= `key`. */
function lowerBound(keys: readonly Buffer[], key: Buffer): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (Buffer.compare(keys[mid]!, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A reader over one tree. Safe for concurrent use. */
export class TreeReader {
  readonly root: BlobId;
  readonly #store: Pick<BlobStore, 'getBlob'>;
  readonly #cache: LruCache<string, Promise<TreeNode>>;
  readonly #label: string;
  #loads = 0;

  constructor(store: Pick<BlobStore, 'getBlob'>, root: BlobId, options: TreeReaderOptions = {}) {
    this.root = root;
    this.#store = store;
    this.#cache = new LruCache(options.cacheNodes ?? 32);
    this.#label = options.label ?? 'snapshot tree';
  }

  /** Nodes fetched from the store so far (cache misses). */
  get nodeLoads(): number {
    return this.#loads;
  }

  /** Loads and decodes a node, through the cache. */
  node(id: BlobId): Promise<TreeNode> {
    const k = toHex(id);
    const hit = this.#cache.get(k);
    if (hit !== undefined) return hit;
    this.#loads++;
    const p = this.#store.getBlob(BlobKind.Tree, id).then(
      (bytes) => decodeNode(bytes, `${this.#label}: tree node ${k}`),
      (err: unknown) => {
        throw new Error(`${this.#label}: cannot read tree node ${k}: ${errorMessage(err)}`, { cause: err });
      },
    );
    this.#cache.set(k, p);
    p.catch(() => this.#cache.delete(k));
    return p;
  }

  /** The leaf that would hold `key`, with the path of internal nodes above it. */
  async #descend(key: Buffer, stack: { node: InternalNode; idx: number }[]): Promise<LeafNode> {
    let node = await this.node(this.root);
    while (!node.leaf) {
      const idx = Math.max(0, upperBound(node.keys, key) - 1);
      stack.push({ node, idx });
      node = await this.node(node.children[idx]!);
    }
    return node;
  }

  /** The entry at `path` with type `type`, if any. */
  async get(path: EntryPath, type: EntryType): Promise<SnapshotEntry | undefined> {
    const key = sortKey(path, type);
    const leaf = await this.#descend(key, []);
    const i = lowerBound(leaf.keys, key);
    return i < leaf.keys.length && leaf.keys[i]!.equals(key) ? leaf.entries[i] : undefined;
  }

  /**
   * The entries at `path` (a file and a directory may share a path), in key order: file, symlink,
   * directory.
   */
  async find(path: EntryPath): Promise<SnapshotEntry[]> {
    const first = sortKey(path, 'file');
    const prefix = first.subarray(0, first.length - 1);
    const out: SnapshotEntry[] = [];
    for await (const { entry } of this.scan(first, prefix)) out.push(entry);
    return out;
  }

  /** The directory entry at `path` if there is one, else any entry there. */
  async lookup(path: EntryPath): Promise<SnapshotEntry | undefined> {
    const all = await this.find(path);
    return all.find((e) => e.type === 'directory') ?? all[0];
  }

  /**
   * Every entry whose sort key is >= `from` and starts with `prefix` (all when omitted), in key
   * order. Keys sharing a prefix are contiguous, so the scan stops at the first key without it.
   */
  async *scan(from: Buffer, prefix?: Buffer): AsyncGenerator<KeyedEntry> {
    const stack: { node: InternalNode; idx: number }[] = [];
    let leaf = await this.#descend(from, stack);
    let i = lowerBound(leaf.keys, from);
    for (;;) {
      for (; i < leaf.entries.length; i++) {
        const key = leaf.keys[i]!;
        if (prefix !== undefined && !hasPrefix(key, prefix)) return;
        yield { key, entry: leaf.entries[i]! };
      }
      // Next leaf: climb to the nearest ancestor with a next child, then down its leftmost path.
      let top = stack[stack.length - 1];
      while (top !== undefined && top.idx + 1 >= top.node.children.length) {
        stack.pop();
        top = stack[stack.length - 1];
      }
      if (top === undefined) return;
      top.idx++;
      if (prefix !== undefined && !hasPrefix(top.node.keys[top.idx]!, prefix)) return;
      let node = await this.node(top.node.children[top.idx]!);
      while (!node.leaf) {
        stack.push({ node, idx: 0 });
        node = await this.node(node.children[0]!);
      }
      leaf = node;
      i = 0;
    }
  }

  /** Every entry of the tree in key order (parents before their children). */
  async *entries(): AsyncGenerator<SnapshotEntry> {
    for await (const { entry } of this.scan(ROOT_SORT_KEY)) yield entry;
  }

  /** The direct children of the directory `dir`, in key order (a directory listing). */
  async *children(dir: EntryPath): AsyncGenerator<SnapshotEntry> {
    const prefix = childrenPrefix(dir);
    for await (const { key, entry } of this.scan(prefix, prefix)) {
      if (dir === '/' && key.equals(ROOT_SORT_KEY)) continue;
      yield entry;
    }
  }

  /**
   * Every entry strictly below the directory `dir` (not `dir` itself), in key order: each directory
   * comes before its children.
   */
  async *subtree(dir: EntryPath): AsyncGenerator<SnapshotEntry> {
    const prefix = subtreePrefix(dir);
    for await (const { key, entry } of this.scan(prefix, prefix)) {
      if (dir === '/' && key.equals(ROOT_SORT_KEY)) continue;
      yield entry;
    }
  }

  /**
   * Visits every node of the tree, depth first, without the cache (each node is read once). A
   * node that cannot be read is passed to `onError` with the first key below it (if known) and
   * skipped.
   */
  async walkNodes(
    visit: (id: BlobId, node: TreeNode) => void | Promise<void>,
    onError: (id: BlobId, err: unknown) => void | Promise<void>,
  ): Promise<void> {
    const rec = async (id: BlobId): Promise<void> => {
      let node: TreeNode;
      try {
        const bytes = await this.#store.getBlob(BlobKind.Tree, id);
        node = decodeNode(bytes, `${this.#label}: tree node ${toHex(id)}`);
      } catch (err) {
        await onError(id, err);
        return;
      }
      await visit(id, node);
      if (!node.leaf) for (const child of node.children) await rec(child);
    };
    await rec(this.root);
  }
}

/** The message of an error, or its string form. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
