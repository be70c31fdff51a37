/** The fixture of `sourceConformance`: files and empty directories a connector materializes. */

import type { EntryPath, Timestamp } from '../source/record.ts';
import type { Source } from '../source/source.ts';
import { deterministicBytes } from '../testing/deterministic-data.ts';

/** A file of the fixture. */
export interface FixtureFile {
  readonly path: EntryPath;
  readonly bytes: Uint8Array;
  /** The modification time to give the file; absent when the source cannot set times. */
  readonly mtime?: Timestamp;
}

/**
 * What a source's `setup` materializes under a fresh root: every file (its parent directories are
 * implied) and every directory of `emptyDirectories` (which contain nothing).
 */
export interface SourceFixture {
  readonly files: readonly FixtureFile[];
  readonly emptyDirectories: readonly EntryPath[];
}

/** What a source's `setup` returns: a Source over the materialized fixture, and how to remove it. */
export interface SourceUnderTest {
  readonly source: Source;
  /** Removes the fixture. Called after `source.close()` (the suite closes the source itself). */
  cleanup(): Promise<void>;
}

/** Materializes `fixture` (local files, S3 objects...) and returns a Source over it. */
export type SourceSetup = (fixture: SourceFixture) => Promise<SourceUnderTest>;

/** What the source under test can represent. Every field has a default. */
export interface SourceCapabilities {
  /** Whether empty directories exist (false for S3: the fixture then has none). Default true. */
  readonly emptyDirectories?: boolean;
  /** Whether records carry POSIX `mode` bits. Default true. */
  readonly mode?: boolean;
  /**
   * When set, `setup` gives files the fixture's `mtime` and records must report it to within this
   * many nanoseconds (1000 = microseconds). When absent, the fixture has no mtimes.
   */
  readonly mtimePrecisionNs?: number;
  /** Whether file records carry a `changeToken` (stable while nothing changes). Default true. */
  readonly changeToken?: boolean;
  /** Timeout of each test, in ms. Default 120,000. */
  readonly timeoutMs?: number;
}

const text = (s: string) => new TextEncoder().encode(s);

/**
 * The fixture for the given capabilities: small and large files (one over 1 MiB), an empty file,
 * nested and Unicode names, names with spaces and dots, a directory of 60 files, and (when the
 * source has them) empty directories and mtimes with nanoseconds. Deterministic.
 */
export function sourceFixture(caps: SourceCapabilities = {}): SourceFixture {
  const withTimes = caps.mtimePrecisionNs !== undefined;
  const t = (sec: number, nsec: number): { mtime?: Timestamp } => (withTimes ? { mtime: { sec, nsec } } : {});
  const files: FixtureFile[] = [
    { path: '/hello.txt', bytes: text('hello, world\n'), ...t(1_600_000_000, 123_456_789) },
    { path: '/empty', bytes: new Uint8Array(0), ...t(1_500_000_000, 0) },
    { path: '/dir/a.bin', bytes: deterministicBytes(1, 10_240), ...t(1_000_000_000, 1_000) },
    { path: '/dir/sub/b', bytes: deterministicBytes(2, 100) },
    {
      path: '/dir/sub/deep/er/file.dat',
      bytes: deterministicBytes(3, 1024 * 1024 + 5),
      ...t(1_700_000_000, 999_999_000),
    },
    { path: '/unicode/café ☕.txt', bytes: text('unicode name\n') },
    { path: '/unicode/日本語/ファイル.md', bytes: text('# 見出し\n') },
    { path: '/spaces in name/x y.txt', bytes: text('spaces\n') },
    { path: '/dots/.hidden', bytes: text('hidden\n') },
    { path: '/dots/..double', bytes: text('two dots\n') },
    { path: '/dots/a.b.c', bytes: text('abc\n') },
  ];
  for (let i = 0; i < 60; i++) {
    files.push({ path: `/many/f${String(i).padStart(3, '0')}`, bytes: deterministicBytes(100 + i, i * 7) });
  }
  const emptyDirectories = caps.emptyDirectories === false ? [] : ['/empty-dir', '/dir/sub/empty-leaf'];
  return { files, emptyDirectories };
}
