/**
 * Which entries a filtered backup keeps (`-exclude`, `-include`; patterns: glob.ts). Restic's
 * rule, whatever the order the patterns were given in:
 *
 * - An entry is dropped when it, or a directory above it, matches an exclude pattern: an excluded
 *   directory is dropped with everything under it. Excludes win over includes.
 * - With no include pattern, every other entry is kept. With include patterns, a file or symlink
 *   is kept only when it, or a directory above it, matches one; a directory is kept unless
 *   excluded (it may be left empty), so that the included entries keep their parents.
 * - The root (`/`) is always kept.
 *
 * Sources yield entries in any order (a bucket's directories come after their content), so the
 * directories above an entry are matched each time their path changes: entries of the same
 * directory in a row cost one or two regular expression tests each and no allocation.
 */
import type { EntryType } from '@kloset/connector-contract';
import { compileGlob, type Glob } from './glob.ts';

/** The patterns of one kind (exclude or include), as two regular expressions. */
class PatternSet {
  readonly #any: RegExp | undefined;
  readonly #directories: RegExp | undefined;
  readonly size: number;

  constructor(globs: readonly Glob[]) {
    this.size = globs.length;
    const any = globs.filter((g) => !g.directoryOnly);
    const dirs = globs.filter((g) => g.directoryOnly);
    this.#any = union(any);
    this.#directories = union(dirs);
  }

  /** The source of a regular expression matching the directories the set matches, if any. */
  get directorySource(): string | undefined {
    const parts = [this.#any, this.#directories].filter((r) => r !== undefined).map((r) => `(?:${r.source})`);
    return parts.length > 0 ? parts.join('|') : undefined;
  }

  matches(path: string, directory: boolean): boolean {
    if (this.#any?.test(path) === true) return true;
    return directory && this.#directories?.test(path) === true;
  }
}

function union(globs: readonly Glob[]): RegExp | undefined {
  if (globs.length === 0) return undefined;
  return new RegExp(globs.map((g) => `(?:${g.source})`).join('|'), 'u');
}

export interface PathFilterPatterns {
  readonly exclude?: readonly string[];
  readonly include?: readonly string[];
}

export class PathFilter {
  readonly #exclude: PatternSet;
  readonly #include: PatternSet;
  /** The parent directory last looked at, without its trailing `/` (`''` for the root). */
  #parent: string | undefined;
  #parentExcluded = false;
  #parentIncluded = false;

  /** Throws PatternError for the first pattern that is not a valid glob. */
  constructor(patterns: PathFilterPatterns) {
    this.#exclude = new PatternSet((patterns.exclude ?? []).map(compileGlob));
    this.#include = new PatternSet((patterns.include ?? []).map(compileGlob));
  }

  /** True when there is no pattern at all (nothing to filter). */
  get empty(): boolean {
    return this.#exclude.size === 0 && this.#include.size === 0;
  }

  /**
   * The source of a regular expression matching the directories left out with all under them
   * (ScanContext.excludedDirectories), if any.
   */
  get excludedDirectories(): string | undefined {
    return this.#exclude.directorySource;
  }

  /** True when the entry at `path` (a valid entry path) is kept. */
  keeps(path: string, type: EntryType): boolean {
    if (path === '/') return true;
    const slash = path.lastIndexOf('/');
    const parent = this.#parent;
    if (parent === undefined || slash !== parent.length || !path.startsWith(parent)) this.#enter(path, slash);
    if (this.#parentExcluded) return false;
    const directory = type === 'directory';
    if (this.#exclude.matches(path, directory)) return false;
    if (this.#include.size === 0 || this.#parentIncluded || directory) return true;
    return this.#include.matches(path, false);
  }

  /** Matches the directories above `path` (whose last `/` is at `slash`). */
  #enter(path: string, slash: number): void {
    let excluded = false;
    let included = false;
    for (let i = path.indexOf('/', 1); i !== -1 && i <= slash && !excluded; i = path.indexOf('/', i + 1)) {
      const dir = path.slice(0, i);
      excluded = this.#exclude.matches(dir, true);
      included ||= this.#include.size > 0 && this.#include.matches(dir, true);
    }
    this.#parent = path.slice(0, slash);
    this.#parentExcluded = excluded;
    this.#parentIncluded = included;
  }
}
