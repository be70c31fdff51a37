/**
 * Streams the versions of a listing into the paths of the versions tree (s3-common
 * version-names.ts, docs/FORMAT.md "S3 object versions"): fed the versions in S3 order, it returns
 * each version's path and the directories the listing has left. It holds one directory chain, never
 * a listing nor a key's versions.
 */
import type { EntryPath } from '@kloset/connector-contract';
import { versionDirNames, versionName } from '@kloset/s3-common';

/** A directory of the versions tree the listing has left. */
export interface VersionDirEvent {
  readonly path: EntryPath;
  /** Newest LastModified under it, in ms since the epoch. */
  readonly mtimeMs: number;
}

interface OpenDir {
  readonly name: string;
  readonly path: EntryPath;
  mtimeMs: number;
}

/** Streams versions (keys relative to the root prefix, in S3 listing order) into paths. */
export class VersionTree {
  readonly #open: OpenDir[] = [];

  /** The path of this version, and the directories it closes. */
  push(
    key: string,
    versionId: string,
    lastModifiedMs: number,
  ): { path: EntryPath; closed: VersionDirEvent[] } {
    const names = versionDirNames(key);
    let depth = 0;
    while (depth < names.length && depth < this.#open.length && this.#open[depth]!.name === names[depth])
      depth++;
    const closed = this.#close(depth);
    for (let i = depth; i < names.length; i++) {
      const parent = this.#open[i - 1];
      const name = names[i]!;
      this.#open.push({ name, path: parent ? `${parent.path}/${name}` : `/${name}`, mtimeMs: 0 });
    }
    for (const d of this.#open) d.mtimeMs = Math.max(d.mtimeMs, lastModifiedMs);
    const dir = this.#open[this.#open.length - 1]!;
    return { path: `${dir.path}/${versionName(lastModifiedMs, versionId)}`, closed };
  }

  /** Ends the listing: every open directory, `/%%versions` last (none when nothing was pushed). */
  end(): VersionDirEvent[] {
    return this.#close(0);
  }

  #close(depth: number): VersionDirEvent[] {
    const out: VersionDirEvent[] = [];
    while (this.#open.length > depth) {
      const d = this.#open.pop()!;
      out.push({ path: d.path, mtimeMs: d.mtimeMs });
    }
    return out;
  }
}
