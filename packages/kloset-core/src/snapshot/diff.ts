/**
 * `diff A[:PATH] B[:PATH]`: what differs between two snapshots (or two paths of them), as a
 * streaming merge of the two trees in key order (FORMAT.md §8.2). Both sides are read with one
 * scan each, one node per level in memory, whatever the size of the trees.
 *
 * The entries at PATH (the compared roots) are matched with each other, and the entries below
 * them by their path relative to their root: the sort key of an entry below directory D is
 * `prefix(D) || rest`, and dropping the common `prefix(D)` keeps the order, so the two relative
 * key streams merge like two sorted lists. A file and a directory at one path are two entries
 * (a type change is one removal and one addition).
 */
import type { EntryPath } from '@kloset/connector-contract';
import { toHex } from '../encoding/bytes.ts';
import type { BlobStore } from '../repository/blob-store.ts';
import type { SnapshotEntry } from './entry.ts';
import { ROOT_SORT_KEY, sortKey, subtreePrefix } from './entry-key.ts';
import type { SnapshotHeader } from './header.ts';
import { SnapshotPathNotFoundError } from './list-path.ts';
import { TreeReader } from './tree-reader.ts';

/** One side of a diff: a snapshot and the path compared in it (`/` for all of it). */
export interface DiffSide {
  readonly header: SnapshotHeader;
  readonly path: EntryPath;
}

/** What changed about an entry present on both sides. */
export type DiffField = 'content' | 'mode' | 'mtime' | 'owner' | 'link' | 'metadata' | 'error';

/** One difference, in key order (parents before children). */
export type DiffChange =
  | { readonly change: 'added'; readonly path: EntryPath; readonly after: SnapshotEntry }
  | { readonly change: 'removed'; readonly path: EntryPath; readonly before: SnapshotEntry }
  | {
      readonly change: 'changed';
      readonly path: EntryPath;
      readonly fields: readonly DiffField[];
      readonly before: SnapshotEntry;
      readonly after: SnapshotEntry;
    };

interface Keyed {
  readonly rel: Buffer;
  readonly entry: SnapshotEntry;
}

/** The entries at `path` (as the root, key `00 00 rank`), then those below it, by relative key. */
async function* side(reader: TreeReader, path: EntryPath): AsyncGenerator<Keyed> {
  const roots = await reader.find(path);
  let isDir = false;
  for (const entry of roots) {
    if (entry.type === 'directory') isDir = true;
    yield { rel: sortKey('/', entry.type), entry };
  }
  if (!isDir) return;
  const prefix = subtreePrefix(path);
  for await (const { key, entry } of reader.scan(prefix, prefix)) {
    if (path === '/' && key.equals(ROOT_SORT_KEY)) continue;
    yield { rel: key.subarray(prefix.length), entry };
  }
}

function sameChunks(a: SnapshotEntry, b: SnapshotEntry): boolean {
  if (a.chunks.length !== b.chunks.length) return false;
  for (let i = 0; i < a.chunks.length; i++) {
    const x = a.chunks[i]!;
    const y = b.chunks[i]!;
    if (x.length !== y.length || Buffer.compare(x.id, y.id) !== 0) return false;
  }
  return true;
}

function sameMap(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}

/** The fields that differ between two entries of the same path and type. */
export function changedFields(a: SnapshotEntry, b: SnapshotEntry): DiffField[] {
  const out: DiffField[] = [];
  if (a.size !== b.size || !sameChunks(a, b)) out.push('content');
  if (a.mode !== b.mode) out.push('mode');
  if (a.mtime.sec !== b.mtime.sec || a.mtime.nsec !== b.mtime.nsec) out.push('mtime');
  if (a.uid !== b.uid || a.gid !== b.gid) out.push('owner');
  if (a.linkTarget !== b.linkTarget) out.push('link');
  if (!sameMap(a.metadata ?? {}, b.metadata ?? {})) out.push('metadata');
  if (a.error !== b.error) out.push('error');
  return out;
}

/**
 * The differences from `a` to `b`, in key order. Paths are those of the side the entry is on:
 * `removed` entries by their path in `a`, `added` and `changed` ones by their path in `b`. Throws
 * SnapshotPathNotFoundError when neither side has anything at its path.
 */
export async function* diffSnapshots(
  store: Pick<BlobStore, 'getBlob'>,
  a: DiffSide,
  b: DiffSide,
): AsyncGenerator<DiffChange> {
  const label = (h: SnapshotHeader) => `snapshot ${toHex(h.id).slice(0, 8)}`;
  const ra = new TreeReader(store, a.header.root, { label: label(a.header) });
  const rb = new TreeReader(store, b.header.root, { label: label(b.header) });
  const [fa, fb] = await Promise.all([ra.find(a.path), rb.find(b.path)]);
  if (fa.length === 0 && fb.length === 0) {
    throw new SnapshotPathNotFoundError(
      a.path === b.path
        ? `${a.path} not found in ${label(a.header)} nor in ${label(b.header)}`
        : `${a.path} not found in ${label(a.header)}, ${b.path} not found in ${label(b.header)}`,
    );
  }
  const ia = side(ra, a.path)[Symbol.asyncIterator]();
  const ib = side(rb, b.path)[Symbol.asyncIterator]();
  let x = await ia.next();
  let y = await ib.next();
  while (!x.done || !y.done) {
    const c = x.done ? 1 : y.done ? -1 : Buffer.compare(x.value.rel, y.value.rel);
    if (c < 0 && !x.done) {
      yield { change: 'removed', path: x.value.entry.path, before: x.value.entry };
      x = await ia.next();
    } else if (c > 0 && !y.done) {
      yield { change: 'added', path: y.value.entry.path, after: y.value.entry };
      y = await ib.next();
    } else if (!x.done && !y.done) {
      const fields = changedFields(x.value.entry, y.value.entry);
      if (fields.length > 0) {
        const { entry } = y.value;
        yield { change: 'changed', path: entry.path, fields, before: x.value.entry, after: entry };
      }
      x = await ia.next();
      y = await ib.next();
    }
  }
}
