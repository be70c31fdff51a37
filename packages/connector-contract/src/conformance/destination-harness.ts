/** What the Destination conformance cases share: a destination per test, and writing a tree. */
import { expect } from 'vitest';
import type { Destination, WriteResult } from '../destination/destination.ts';
import { splitPath } from '../source/path.ts';
import { describeError, mapLimit } from './assertions.ts';
import {
  type DestinationSetup,
  type DestinationUnderTest,
  streamParts,
  type TreeEntry,
} from './destination-tree.ts';

/** Runs `fn` with a fresh destination, then closes it and cleans up. */
export async function withDestination(
  setup: DestinationSetup,
  fn: (d: DestinationUnderTest) => Promise<void>,
) {
  const handle = await setup();
  try {
    await fn(handle);
  } finally {
    try {
      await handle.destination.close();
    } finally {
      await handle.cleanup();
    }
  }
}

/** Writes entries parents first: one depth at a time, up to `destination.concurrency` at once. */
export async function writeTree(
  destination: Destination,
  tree: readonly TreeEntry[],
  stream: (parts: readonly Uint8Array[]) => AsyncIterable<Uint8Array> = streamParts,
): Promise<void> {
  const depth = (e: TreeEntry) => splitPath(e.attributes.path).length;
  const maxDepth = Math.max(...tree.map(depth));
  for (let d = 0; d <= maxDepth; d++) {
    await mapLimit(
      tree.filter((e) => depth(e) === d),
      destination.concurrency,
      async (entry) => {
        const { path } = entry.attributes;
        let result: WriteResult;
        try {
          result = await destination.write(entry.attributes, entry.parts ? stream(entry.parts) : undefined);
        } catch (err) {
          expect.fail(`write(${path}) threw: ${describeError(err)}`);
        }
        expect(result.ok, `write(${path}) result: ${result.error ?? ''}`).toBe(true);
        expect(result.path, `path in the result of write(${path})`).toBe(path);
      },
    );
  }
}
