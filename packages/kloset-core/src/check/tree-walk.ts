/**
 * Walks every node of a snapshot tree with a few node reads in flight, handing each leaf's
 * entries to a callback. A node that cannot be read is reported with the first path below it
 * (known from its parent's reference) and its sub-tree is skipped.
 */

import { toHex } from '../encoding/bytes.ts';
import { type BlobId, BlobKind, type BlobStore } from '../repository/blob-store.ts';
import type { SnapshotEntry } from '../snapshot/entry.ts';
import { decodeSortKey, keyPath } from '../snapshot/entry-key.ts';
import { decodeNode } from '../snapshot/tree-node.ts';

interface Pending {
  readonly id: BlobId;
  /** Sort key of the first entry below, when known (not for the root). */
  readonly first: Buffer | undefined;
}

export interface TreeWalkHandlers {
  /** The entries of one leaf, in key order. */
  leaf(entries: readonly SnapshotEntry[]): void | Promise<void>;
  /** A node could not be read or decoded; `firstPath` is the first path below it, if known. */
  unreadable(id: BlobId, firstPath: string | undefined, error: unknown): void;
  /** Called for every node read. */
  node?(id: BlobId): void;
  /** Called before a node is read: true skips it and its sub-tree (e.g. already walked). */
  skip?(id: BlobId): boolean;
}

/** Walks the tree rooted at `root`, `concurrency` node reads at a time. */
export async function walkTree(
  store: Pick<BlobStore, 'getBlob'>,
  root: BlobId,
  handlers: TreeWalkHandlers,
  concurrency: number,
  signal?: AbortSignal,
): Promise<void> {
  const stack: Pending[] = [{ id: root, first: undefined }];
  let active = 0;
  let failure: { error: unknown } | undefined;
  await new Promise<void>((resolve) => {
    const pump = (): void => {
      while (failure === undefined && active < concurrency && stack.length > 0) {
        const next = stack.pop()!;
        active++;
        visit(next).then(
          () => {
            active--;
            pump();
          },
          (error: unknown) => {
            active--;
            failure ??= { error };
            pump();
          },
        );
      }
      if (active === 0 && (stack.length === 0 || failure !== undefined)) resolve();
    };
    const visit = async (p: Pending): Promise<void> => {
      signal?.throwIfAborted();
      if (handlers.skip?.(p.id) === true) return;
      let node: ReturnType<typeof decodeNode>;
      try {
        const bytes = await store.getBlob(BlobKind.Tree, p.id);
        node = decodeNode(bytes, `tree node ${toHex(p.id)}`);
      } catch (err) {
        handlers.unreadable(p.id, p.first === undefined ? undefined : keyPath(decodeSortKey(p.first)), err);
        return;
      }
      handlers.node?.(p.id);
      if (node.leaf) {
        await handlers.leaf(node.entries);
        return;
      }
      for (let i = node.children.length - 1; i >= 0; i--) {
        stack.push({ id: node.children[i]!, first: node.keys[i] });
      }
    };
    pump();
  });
  if (failure !== undefined) throw failure.error;
}
