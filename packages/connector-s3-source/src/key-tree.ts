/**
 * Turns the keys of a listing, in S3 order, into file and directory entries, streaming: memory holds
 * one directory chain and a few pending files, never the listing.
 *
 * Names follow @kloset/s3-common names.ts: segments are encoded, and a file whose key `K` is also a
 * folder (keys under `K/` exist) takes the twin form. S3 lists keys in UTF-8 binary order, so all
 * keys that start with `K` follow `K` contiguously, and `K/...` keys come after every `K<c>...` key
 * with `c` < `/`. A file is therefore held back only while the listing is inside `K<c>...` keys
 * (`a`, then `a-1`, `a.txt`...) and decided as soon as it leaves them; the chain of such pending
 * files is at most as deep as a key is long. A directory is emitted when the listing leaves it, with
 * the newest LastModified under it as its mtime.
 */
import { ConnectorError, type EntryPath } from '@kloset/connector-contract';
import { encodeFileTwin, encodeSegment } from '@kloset/s3-common';

/** A file to emit: its path and the listed item it came from. */
export interface FileEvent<T> {
  readonly kind: 'file';
  readonly path: EntryPath;
  /** The key relative to the root prefix. */
  readonly key: string;
  readonly item: T;
}

/** A directory to emit. */
export interface DirEvent {
  readonly kind: 'dir';
  readonly path: EntryPath;
  /** The key prefix it stands for, relative to the root prefix: '' for the root, else ends with '/'. */
  readonly prefix: string;
  /** Newest LastModified under it, in ms since the epoch (0 when empty). */
  readonly mtimeMs: number;
}

export type TreeEvent<T> = FileEvent<T> | DirEvent;

interface OpenDir {
  readonly segment: string;
  readonly path: EntryPath;
  readonly prefix: string;
  mtimeMs: number;
}

interface PendingFile<T> {
  readonly key: string;
  readonly dirPath: EntryPath;
  readonly name: string;
  readonly item: T;
}

const SLASH = 0x2f;

function child(parent: EntryPath, name: string): EntryPath {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

/** Streams keys (relative to the root prefix, in S3 listing order) into tree events. */
export class KeyTree<T> {
  readonly #dirs: OpenDir[] = [{ segment: '', path: '/', prefix: '', mtimeMs: 0 }];
  readonly #pending: PendingFile<T>[] = [];
  #previous: Buffer | undefined;
  #ended = false;

  /** Adds the next key of the listing; returns the events it completes. */
  push(key: string, item: T, mtimeMs: number): TreeEvent<T>[] {
    if (this.#ended) throw new Error('KeyTree: push after end');
    const bytes = Buffer.from(key, 'utf8');
    if (this.#previous !== undefined && Buffer.compare(this.#previous, bytes) >= 0) {
      throw new ConnectorError(
        'invalid',
        `S3 listing out of order: key ${JSON.stringify(key)} came after a key that sorts after it (the server must list in UTF-8 binary order)`,
        { op: 'ListObjectsV2', key },
      );
    }
    this.#previous = bytes;
    const out: TreeEvent<T>[] = [];
    this.#resolvePending(key, out);

    const segments = key.split('/');
    const name = segments.pop() ?? '';
    let depth = 0;
    while (
      depth < segments.length &&
      depth + 1 < this.#dirs.length &&
      this.#dirs[depth + 1]!.segment === segments[depth]
    ) {
      depth++;
    }
    this.#closeDirsAbove(depth, out);
    for (let i = depth; i < segments.length; i++) {
      const parent = this.#dirs[this.#dirs.length - 1]!;
      const segment = segments[i]!;
      this.#dirs.push({
        segment,
        path: child(parent.path, encodeSegment(segment)),
        prefix: `${parent.prefix}${segment}/`,
        mtimeMs: 0,
      });
    }
    const dir = this.#dirs[this.#dirs.length - 1]!;
    dir.mtimeMs = Math.max(dir.mtimeMs, mtimeMs);
    this.#pending.push({ key, dirPath: dir.path, name, item });
    return out;
  }

  /** Ends the listing: the remaining files, then every open directory, the root last. */
  end(): TreeEvent<T>[] {
    this.#ended = true;
    const out: TreeEvent<T>[] = [];
    while (this.#pending.length > 0) out.push(this.#file(this.#pending.pop()!, false));
    this.#closeDirsAbove(-1, out);
    return out;
  }

  #file(p: PendingFile<T>, twin: boolean): FileEvent<T> {
    const name = twin ? encodeFileTwin(p.name) : encodeSegment(p.name);
    return { kind: 'file', path: child(p.dirPath, name), key: p.key, item: p.item };
  }

  /** Decides the pending files that `key` (the next key in order) settles. */
  #resolvePending(key: string, out: TreeEvent<T>[]): void {
    while (this.#pending.length > 0) {
      const top = this.#pending[this.#pending.length - 1]!;
      if (key.startsWith(top.key)) {
        const next = key.charCodeAt(top.key.length);
        if (next === SLASH) {
          // `top.key/...` exists: the file has a folder twin. Pending files below it are prefixes
          // of it followed by a character before '/', so they stay pending.
          out.push(this.#file(top, true));
          this.#pending.pop();
          return;
        }
        if (next < SLASH) return;
      }
      // The listing is past `top.key/`: no folder twin.
      out.push(this.#file(top, false));
      this.#pending.pop();
    }
  }

  /** Closes the open directories deeper than `depth` (-1 closes the root too). */
  #closeDirsAbove(depth: number, out: TreeEvent<T>[]): void {
    while (this.#dirs.length - 1 > depth) {
      const d = this.#dirs.pop()!;
      const parent = this.#dirs[this.#dirs.length - 1];
      if (parent) parent.mtimeMs = Math.max(parent.mtimeMs, d.mtimeMs);
      out.push({ kind: 'dir', path: d.path, prefix: d.prefix, mtimeMs: d.mtimeMs });
    }
  }
}
