/** The tree `destinationConformance` writes, and the types of its setup. */
import type { Destination } from '../destination/destination.ts';
import type { EntryAttributes, EntryMetadata, EntryPath, EntryType, Timestamp } from '../source/record.ts';
import { deterministicBytes } from '../testing/deterministic-data.ts';

/** An entry as the destination wrote it, read back by the connector's own means. */
export interface ReadBackEntry {
  readonly type: EntryType;
  /** Content of a file. */
  readonly bytes?: Uint8Array;
  readonly linkTarget?: string;
  /** Connector metadata, when the destination keeps it (S3 headers, tags...). */
  readonly metadata?: EntryMetadata;
  /** Permission bits (0o7777 mask), when the destination keeps them. */
  readonly mode?: number;
  /** Modification time, when the destination keeps it. */
  readonly mtime?: Timestamp;
}

/** What a destination's `setup` returns. */
export interface DestinationUnderTest {
  /** A destination writing into a fresh, empty place. */
  readonly destination: Destination;
  /**
   * Everything under the restored root, by EntryPath (`/docs/a.txt`). The root `/` itself may be
   * present or not. Temporary files left behind must show up here: they are failures.
   */
  readBack(): Promise<Map<EntryPath, ReadBackEntry>>;
  /** Removes what was written. Called after `destination.close()`. */
  cleanup(): Promise<void>;
}

/** Makes a destination over a fresh, empty place. Called once per test. */
export type DestinationSetup = () => Promise<DestinationUnderTest>;

/** What the destination under test keeps. Every field has a default. */
export interface DestinationCapabilities {
  /** Directories exist on their own, empty ones too, and readBack lists them. Default true. */
  readonly directories?: boolean;
  /** Symlinks are written and read back with their target. Default false. */
  readonly symlinks?: boolean;
  /** readBack reports `mode`, which must equal what was written. Default false. */
  readonly mode?: boolean;
  /** When set, readBack reports `mtime`, checked to within this many nanoseconds. */
  readonly mtimePrecisionNs?: number;
  /** Metadata to give each file; readBack must report every key with the same value. */
  readonly fileMetadata?: (path: EntryPath) => EntryMetadata;
  /** `keepsVersions()` resolves to true (a versioned bucket). Default false (or no keepsVersions). */
  readonly keepsVersions?: boolean;
  /** Timeout of each test, in ms. Default 120,000. */
  readonly timeoutMs?: number;
}

/** An entry of the tree, with its content split into parts (files only). */
export interface TreeEntry {
  readonly attributes: EntryAttributes;
  readonly parts?: readonly Uint8Array[];
}

const MiB = 1024 * 1024;
export const text = (s: string) => new TextEncoder().encode(s);

/** A file entry of `bytes` at `path`, with the metadata the capabilities give. */
export function fileEntry(caps: DestinationCapabilities, path: string, bytes: Uint8Array): TreeEntry {
  return {
    attributes: {
      path,
      type: 'file',
      size: bytes.length,
      mtime: { sec: 1_660_000_000, nsec: 0 },
      mode: 0o644,
      metadata: caps.fileMetadata?.(path) ?? {},
    },
    parts: [bytes],
  };
}

/** Splits bytes into irregular parts, with an empty part, so writers cannot assume chunk sizes. */
export function splitParts(bytes: Uint8Array, partSize = 64 * 1024): Uint8Array[] {
  const parts: Uint8Array[] = [new Uint8Array(0)];
  for (let off = 0, i = 0; off < bytes.length; i++) {
    const n = i % 3 === 0 ? 1 + (i % 7) : partSize;
    parts.push(bytes.slice(off, off + n));
    off += n;
  }
  return parts;
}

/** A ContentStream over parts, yielding to the event loop between parts. */
export async function* streamParts(parts: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) {
    await Promise.resolve();
    yield part;
  }
}

/**
 * The tree to restore, parents before children: nested directories, an empty directory, small,
 * empty, Unicode-named and executable files, a 5 MiB file in many parts and, when `symlinks`,
 * a relative and a dangling symlink. Times have nanoseconds; modes vary.
 */
export function destinationTree(caps: DestinationCapabilities = {}): TreeEntry[] {
  const meta = (path: EntryPath) => caps.fileMetadata?.(path) ?? {};
  const dir = (path: EntryPath, sec: number, mode = 0o755): TreeEntry => ({
    attributes: { path, type: 'directory', size: 0, mtime: { sec, nsec: 250_000_000 }, mode, metadata: {} },
  });
  const file = (path: EntryPath, bytes: Uint8Array, sec: number, mode = 0o644): TreeEntry => ({
    attributes: {
      path,
      type: 'file',
      size: bytes.length,
      mtime: { sec, nsec: 123_456_789 },
      mode,
      metadata: meta(path),
    },
    parts: splitParts(bytes),
  });
  const link = (path: EntryPath, target: string, sec: number): TreeEntry => ({
    attributes: {
      path,
      type: 'symlink',
      size: 0,
      mtime: { sec, nsec: 5_000 },
      linkTarget: target,
      metadata: {},
    },
  });
  const tree: TreeEntry[] = [
    dir('/', 1_600_000_000),
    dir('/docs', 1_600_000_100, 0o750),
    dir('/docs/nested', 1_600_000_200),
    dir('/docs/nested/deeper', 1_600_000_300, 0o700),
    dir('/empty-dir', 1_600_000_400),
    dir('/unicode', 1_600_000_500),
    file('/docs/readme.txt', text('read me\n'.repeat(1000)), 1_650_000_000),
    file('/docs/empty.txt', new Uint8Array(0), 1_650_000_001),
    file('/docs/nested/deeper/leaf.bin', deterministicBytes(31, 70_000), 1_650_000_002, 0o600),
    file('/big.bin', deterministicBytes(32, 5 * MiB), 1_650_000_003),
    file('/unicode/café ☕.txt', text('café\n'), 1_650_000_004),
    file('/unicode/日本語.md', text('# 日本語\n'), 1_650_000_005),
    file('/run.sh', text('#!/bin/sh\necho hi\n'), 1_650_000_006, 0o755),
  ];
  if (caps.symlinks) {
    tree.push(link('/docs/link-to-readme', 'readme.txt', 1_650_000_007));
    tree.push(link('/dangling', 'does/not/exist', 1_650_000_008));
  }
  return tree;
}
