/**
 * Streams the versions of a listing into the paths of the versions tree (s3-common
 * version-names.ts, docs/FORMAT.md "S3 object versions"): fed the versions in S3 order, it returns
 * each version's path and the directories the listing has left. It holds one directory chain, never
 * a listing nor a key's versions.
 */
import type { EntryPath } from '@kloset/connector-contract';
import { encodeSegment, versionDirNames, versionName } from '@kloset/s3-common';

/** What backup filters judge an entry of the versions tree as (SourceRecord.filterAs). */
export interface FilterAs {
  readonly path: EntryPath;
  readonly type: 'file' | 'directory';
}

/** A directory of the versions tree the listing has left. */
export interface VersionDirEvent {
  readonly path: EntryPath;
  /** Newest LastModified under it, in ms since the epoch. */
  readonly mtimeMs: number;
  /** `/%%versions`: the root; a folder's directory: that folder; a key's directory: the key's file. */
  readonly filterAs: FilterAs;
}

interface OpenDir {
  readonly name: string;
  readonly path: EntryPath;
  readonly filterAs: FilterAs;
  mtimeMs: number;
}

/**
 * What each directory of `versionDirNames(key)` stands for in the plain tree: the root, the key's
 * folders, then the key's file (its plain name, never the twin form: a filter sees the key's name).
 */
function standsFor(key: string): FilterAs[] {
  const names = key.split('/').map(encodeSegment);
  const out: FilterAs[] = [{ path: '/', type: 'directory' }];
  for (let i = 1; i <= names.length; i++) {
    out.push({ path: `/${names.slice(0, i).join('/')}`, type: i === names.length ? 'file' : 'directory' });
  }
  return out;
}

/** Streams versions (keys relative to the root prefix, in S3 listing order) into paths. */
export class VersionTree {
  readonly #open: OpenDir[] = [];

  /** The path of this version, what filters judge it as (its key's file), and the directories it closes. */
  push(
    key: string,
    versionId: string,
    lastModifiedMs: number,
  ): { path: EntryPath; filterAs: FilterAs; closed: VersionDirEvent[] } {
    const names = versionDirNames(key);
    const plain = standsFor(key);
    let depth = 0;
    while (depth < names.length && depth < this.#open.length && this.#open[depth]!.name === names[depth])
      depth++;
    const closed = this.#close(depth);
    for (let i = depth; i < names.length; i++) {
      const parent = this.#open[i - 1];
      const name = names[i]!;
      const path = parent ? `${parent.path}/${name}` : `/${name}`;
      this.#open.push({ name, path, filterAs: plain[i]!, mtimeMs: 0 });
    }
    for (const d of this.#open) d.mtimeMs = Math.max(d.mtimeMs, lastModifiedMs);
    const dir = this.#open[this.#open.length - 1]!;
    return { path: `${dir.path}/${versionName(lastModifiedMs, versionId)}`, filterAs: dir.filterAs, closed };
  }

  /** Ends the listing: every open directory, `/%%versions` last (none when nothing was pushed). */
  end(): VersionDirEvent[] {
    return this.#close(0);
  }

  #close(depth: number): VersionDirEvent[] {
    const out: VersionDirEvent[] = [];
    while (this.#open.length > depth) {
      const d = this.#open.pop()!;
      out.push({ path: d.path, mtimeMs: d.mtimeMs, filterAs: d.filterAs });
    }
    return out;
  }
}
