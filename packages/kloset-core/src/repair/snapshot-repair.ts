/**
 * Repair, step 6: every snapshot walked against the repaired index. A snapshot whose tree nodes
 * and chunks are all there is kept as is (a blob stored again elsewhere, by a later backup or by
 * the salvage, serves). Otherwise a repaired snapshot replaces it: same name, time, source, host,
 * user and parent, tags + `repaired`, a tree where each file with a lost chunk keeps its
 * attributes but gets `error` and no content, and the entries under an unreadable tree node are
 * dropped; its tree is made durable (flush), then its header is written, then the old header is
 * deleted. A header that cannot be read, or whose root tree node cannot, is deleted: nothing of
 * it can be recovered.
 */
import { isNotFound } from '@kloset/connector-contract';
import { walkTree } from '../check/tree-walk.ts';
import { toHex } from '../encoding/bytes.ts';
import { type BlobId, BlobKind } from '../repository/blob-store.ts';
import { CorruptResourceError } from '../repository/errors.ts';
import type { Repository } from '../repository/repository.ts';
import type { SnapshotEntry } from '../snapshot/entry.ts';
import { decodeSortKey, keyPath } from '../snapshot/entry-key.ts';
import { decodeHeader, type SnapshotHeader } from '../snapshot/header.ts';
import { writeSnapshot } from '../snapshot/snapshots.ts';
import { TreeBuilder } from '../snapshot/tree-builder.ts';
import { decodeNode } from '../snapshot/tree-node.ts';
import { errorMessage } from '../snapshot/tree-reader.ts';
import { DATA_LOST_ERROR, REPAIRED_TAG, type RepairLoss } from './repair-options.ts';

/** The index as it is (or, for a dry run, will be) after the repair of states and packfiles. */
export interface RepairedIndex {
  has(kind: BlobKind, id: BlobId): boolean;
  /** Reads and verifies a tree node; throws when it is missing or corrupt. */
  getTree(id: BlobId): Promise<Uint8Array>;
}

export interface SnapshotRepairCounts {
  snapshots: number;
  repaired: number;
  removed: number;
  filesLost: number;
  entriesDropped: number;
}

export interface SnapshotRepairContext {
  readonly repo: Repository;
  readonly index: RepairedIndex;
  readonly dryRun: boolean;
  readonly treeConcurrency: number;
  readonly signal: AbortSignal | undefined;
  readonly counts: SnapshotRepairCounts;
  readonly loss: (loss: RepairLoss) => void;
  readonly repaired: (from: string, to: string) => void;
  readonly progress: (done: number) => void;
}

type HeaderRead = { ok: true; header: SnapshotHeader } | { ok: false; reason: string } | undefined;

/** Reads a header; undefined if it is gone, a reason if it cannot be authenticated or decoded. */
async function readHeader(repo: Repository, id: Uint8Array): Promise<HeaderRead> {
  let bytes: Uint8Array;
  try {
    bytes = await repo.getResource('snapshot', id);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    if (err instanceof CorruptResourceError) return { ok: false, reason: err.reason };
    throw err; // a storage failure: nothing is known of the header
  }
  try {
    return { ok: true, header: decodeHeader(bytes, toHex(id)) };
  } catch (err) {
    return { ok: false, reason: errorMessage(err) };
  }
}

/** True when a file entry has content that the repaired index lacks. */
function lostContent(index: RepairedIndex, e: SnapshotEntry): boolean {
  return e.type === 'file' && e.error === undefined && e.chunks.some((c) => !index.has(BlobKind.Chunk, c.id));
}

/** Walks a tree (a few nodes at once): true when some node or chunk is not in the repaired index. */
async function isDamaged(ctx: SnapshotRepairContext, root: BlobId): Promise<boolean> {
  let damaged = false;
  await walkTree(
    { getBlob: (_kind, id) => ctx.index.getTree(id) },
    root,
    {
      skip: () => damaged,
      leaf(entries) {
        if (entries.some((e) => lostContent(ctx.index, e))) damaged = true;
      },
      unreadable() {
        damaged = true;
      },
    },
    ctx.treeConcurrency,
    ctx.signal,
  );
  return damaged;
}

/** What one ordered walk of a damaged tree gives, entry by entry. */
interface RebuildVisitor {
  entry(e: SnapshotEntry): Promise<void>;
  dropped(firstPath: string | undefined, count: number | undefined, reason: string): void;
}

/** Visits a tree in key order, one node at a time (the path from the root is held). */
async function walkOrdered(
  ctx: SnapshotRepairContext,
  id: BlobId,
  first: Buffer | undefined,
  count: number | undefined,
  visitor: RebuildVisitor,
): Promise<void> {
  ctx.signal?.throwIfAborted();
  let node: ReturnType<typeof decodeNode>;
  try {
    node = decodeNode(await ctx.index.getTree(id), `tree node ${toHex(id)}`);
  } catch (err) {
    visitor.dropped(
      first === undefined ? undefined : keyPath(decodeSortKey(first)),
      count,
      errorMessage(err),
    );
    return;
  }
  if (node.leaf) {
    for (const e of node.entries) await visitor.entry(e);
    return;
  }
  for (let i = 0; i < node.children.length; i++) {
    await walkOrdered(ctx, node.children[i]!, node.keys[i], node.counts[i], visitor);
  }
}

/** Repairs (or removes) one damaged snapshot. */
async function repairOne(ctx: SnapshotRepairContext, h: SnapshotHeader): Promise<void> {
  const { repo, counts } = ctx;
  const hex = toHex(h.id);
  const label = `snapshot ${hex.slice(0, 8)}`;
  const builder = ctx.dryRun ? undefined : new TreeBuilder(repo);
  const summary = { files: 0, directories: 0, symlinks: 0, errors: 0, bytes: 0 };
  let rootLost: string | undefined;
  await walkOrdered(ctx, h.root, undefined, undefined, {
    async entry(e) {
      let kept = e;
      if (lostContent(ctx.index, e)) {
        counts.filesLost++;
        ctx.loss({
          kind: 'file',
          snapshot: hex,
          path: e.path,
          message: `${e.path} in ${label}: its content is lost (${e.size} bytes); kept without content`,
        });
        const { chunks: _chunks, error: _error, ...attributes } = e;
        kept = { ...attributes, size: 0, chunks: [], error: DATA_LOST_ERROR };
      }
      if (kept.type === 'file') summary.files++;
      else if (kept.type === 'directory') summary.directories++;
      else summary.symlinks++;
      if (kept.error !== undefined) summary.errors++;
      else if (kept.type === 'file') summary.bytes += kept.size;
      await builder?.add(kept);
    },
    dropped(firstPath, count, reason) {
      if (firstPath === undefined) {
        rootLost = reason; // only the root has no first path
        return;
      }
      counts.entriesDropped += count ?? 0;
      summary.errors += count ?? 0;
      ctx.loss({
        kind: 'entries',
        snapshot: hex,
        path: firstPath,
        message:
          `${label}: ${count ?? 'the'} entries from ${firstPath} on cannot be read ` +
          `(tree node: ${reason}); dropped`,
      });
    },
  });
  if (rootLost !== undefined) {
    counts.removed++;
    ctx.loss({
      kind: 'snapshot',
      snapshot: hex,
      message: `${label}: its root tree node cannot be read (${rootLost}); nothing is left of it, ${ctx.dryRun ? 'would be removed' : 'removed'}`,
    });
    if (!ctx.dryRun) await repo.deleteResource('snapshot', h.id);
    return;
  }
  counts.repaired++;
  if (builder === undefined) {
    ctx.repaired(hex, '');
    return;
  }
  const tree = await builder.finish();
  await repo.flush(); // the new tree durable and indexed before the header that names it
  const repaired: SnapshotHeader = {
    ...h,
    id: repo.newResourceId(),
    tags: h.tags.includes(REPAIRED_TAG) ? h.tags : [...h.tags, REPAIRED_TAG],
    root: tree.root,
    summary: { ...h.summary, ...summary },
  };
  await writeSnapshot(repo, repaired);
  await repo.deleteResource('snapshot', h.id); // only once the repaired header is durable
  ctx.repaired(hex, toHex(repaired.id));
}

/** Step 6 over every snapshot header of the store. */
export async function repairSnapshots(ctx: SnapshotRepairContext): Promise<void> {
  const { repo, counts } = ctx;
  const ids: Uint8Array[] = [];
  for await (const id of repo.listResources('snapshot')) ids.push(id);
  for (const id of ids) {
    ctx.signal?.throwIfAborted();
    const read = await readHeader(repo, id);
    if (read === undefined) continue;
    counts.snapshots++;
    ctx.progress(counts.snapshots);
    if (!read.ok) {
      counts.removed++;
      ctx.loss({
        kind: 'snapshot',
        snapshot: toHex(id),
        message: `snapshot ${toHex(id)}: its header cannot be read (${read.reason}); ${ctx.dryRun ? 'would be removed' : 'removed'}`,
      });
      if (!ctx.dryRun) await repo.deleteResource('snapshot', id);
      continue;
    }
    if (await isDamaged(ctx, read.header.root)) await repairOne(ctx, read.header);
  }
}
