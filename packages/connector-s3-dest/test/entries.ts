/** Entries handed to the destination in its tests. */
import type { EntryAttributes } from '@kloset/connector-contract';

/** A file entry of `size` bytes at `path`. */
export const file = (path: string, size: number, metadata: Record<string, string> = {}): EntryAttributes => ({
  path,
  type: 'file',
  size,
  mtime: { sec: 1_700_000_000, nsec: 0 },
  metadata,
});
