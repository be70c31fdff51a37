/** The Destination conformance suite: every Destination implementation runs it from its own tests. */
import { describe, expect, it } from 'vitest';
import type { EntryAttributes, EntryPath, Timestamp } from '../source/record.ts';
import { deterministicBytes } from '../testing/deterministic-data.ts';
import { concatBytes, describeError, expectBytes } from './assertions.ts';
import { destinationExistingCases } from './destination-existing-cases.ts';
import { withDestination, writeTree } from './destination-harness.ts';
import {
  type DestinationCapabilities,
  type DestinationSetup,
  destinationTree,
  type ReadBackEntry,
  type TreeEntry,
} from './destination-tree.ts';
import { destinationVersionsCases } from './destination-versions-cases.ts';

/**
 * Streams copies of `parts` and overwrites each copy once the consumer asks for the next chunk (or
 * stops): what a destination that `releasesChunks` must tolerate.
 */
async function* reusedParts(parts: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  let current: Uint8Array | undefined;
  try {
    for (const part of parts) {
      await Promise.resolve();
      current = part.slice();
      yield current;
      current.fill(0xee);
      current = undefined;
    }
  } finally {
    current?.fill(0xee);
  }
}

function nanos(t: Timestamp): bigint {
  return BigInt(t.sec) * 1_000_000_000n + BigInt(t.nsec);
}

function checkEntry(caps: DestinationCapabilities, want: TreeEntry, got: ReadBackEntry): void {
  const a: EntryAttributes = want.attributes;
  expect(got.type, `type of ${a.path}`).toBe(a.type);
  if (want.parts)
    expectBytes(got.bytes ?? new Uint8Array(0), concatBytes(want.parts), `content of ${a.path}`);
  if (a.type === 'symlink') expect(got.linkTarget, `target of symlink ${a.path}`).toBe(a.linkTarget);
  if (caps.mode && a.type !== 'symlink') {
    expect(got.mode?.toString(8), `mode of ${a.path} (octal)`).toBe(a.mode?.toString(8));
  }
  if (caps.mtimePrecisionNs !== undefined) {
    expect(got.mtime, `mtime of ${a.path} in readBack`).toBeDefined();
    const diff = nanos(got.mtime!) - nanos(a.mtime);
    expect(
      (diff < 0n ? -diff : diff) <= BigInt(caps.mtimePrecisionNs),
      `mtime of ${a.path}: got ${JSON.stringify(got.mtime)}, wrote ${JSON.stringify(a.mtime)}`,
    ).toBe(true);
  }
  for (const [key, value] of Object.entries(a.metadata)) {
    expect(got.metadata?.[key], `metadata ${JSON.stringify(key)} of ${a.path}`).toBe(value);
  }
}

/** Checks readBack holds exactly `tree` (directories only when the destination keeps them). */
function checkReadBack(
  caps: DestinationCapabilities,
  tree: readonly TreeEntry[],
  got: Map<EntryPath, ReadBackEntry>,
) {
  const keepsDirs = caps.directories !== false;
  const wanted = new Map(tree.map((e) => [e.attributes.path, e]));
  const unexpected = [...got.entries()]
    .filter(([path, e]) => path !== '/' && !wanted.has(path) && (keepsDirs || e.type !== 'directory'))
    .map(([path]) => path);
  expect(unexpected, 'entries read back that were never written (temporary files?)').toEqual([]);
  for (const entry of tree) {
    const { path, type } = entry.attributes;
    if (type === 'directory' && !keepsDirs) continue;
    const found = got.get(path);
    if (path === '/' && !found) continue;
    expect(found, `${type} ${path} read back`).toBeDefined();
    checkEntry(caps, entry, found!);
  }
}

/**
 * Registers a `describe` block of Vitest tests checking that a Destination follows the contract
 * of `Destination` (destination/destination.ts): it writes a tree (parents first, files streamed
 * in irregular parts, empty files, nested and empty directories, a 5 MiB file, symlinks when
 * `caps.symlinks`), every result is ok, and after `finish()` the tree reads back exactly, with
 * modes, mtimes and metadata as the capabilities say. A content stream that throws midway must
 * make `write` reject with that error and leave nothing under the final name nor any temporary.
 * Over existing content (destination-existing-cases.ts): `stat` and `readExisting`, when offered,
 * see exactly what was written and create nothing; a `createOnly` write never replaces an
 * existing file; a plain write replaces one whole. Versions (destination-versions-cases.ts):
 * `keepsVersions` says what `caps.keepsVersions` says; `remove` removes a written file.
 *
 * `setup` is called once per test; the suite calls `close()` and then `cleanup()`.
 */
export function destinationConformance(
  name: string,
  setup: DestinationSetup,
  caps: DestinationCapabilities = {},
): void {
  const timeout = caps.timeoutMs ?? 120_000;
  describe(`Destination conformance: ${name}`, () => {
    it(
      'declares a concurrency of at least 1 and a location',
      () =>
        withDestination(setup, async ({ destination }) => {
          expect(Number.isInteger(destination.concurrency), 'concurrency is an integer').toBe(true);
          expect(destination.concurrency, 'concurrency').toBeGreaterThanOrEqual(1);
          expect(destination.location, 'location').toBeTypeOf('string');
        }),
      timeout,
    );

    it(
      'writes a tree that reads back exactly after finish()',
      () =>
        withDestination(setup, async ({ destination, readBack }) => {
          const tree = destinationTree(caps);
          await writeTree(destination, tree);
          await destination.finish();
          checkReadBack(caps, tree, await readBack());
        }),
      timeout,
    );

    it(
      'with releasesChunks, chunks overwritten once the next is asked for still read back exactly',
      () =>
        withDestination(setup, async ({ destination, readBack }) => {
          const declared = destination.releasesChunks;
          expect([undefined, true, false], 'releasesChunks is a boolean or unset').toContain(declared);
          if (declared !== true) return;
          const tree = destinationTree(caps);
          await writeTree(destination, tree, reusedParts);
          await destination.finish();
          checkReadBack(caps, tree, await readBack());
        }),
      timeout,
    );

    it(
      'readWritten, when offered, gives back the bytes of written files and undefined past them',
      () =>
        withDestination(setup, async ({ destination }) => {
          if (destination.readWritten === undefined) return;
          const tree = destinationTree(caps);
          await writeTree(destination, tree);
          const files = tree.filter((e) => e.parts !== undefined);
          expect(files.length, 'files in the conformance tree').toBeGreaterThan(0);
          for (const file of files) {
            const { path, size } = file.attributes;
            const whole = concatBytes(file.parts!);
            const all = await destination.readWritten(path, 0, new Uint8Array(size));
            expectBytes(all ?? new Uint8Array(0), whole, `readWritten of all of ${path}`);
            if (size >= 3) {
              const from = Math.floor(size / 3);
              const length = Math.floor(size / 3);
              const part = await destination.readWritten(path, from, new Uint8Array(length));
              expect(part === undefined, `readWritten of a range of ${path} resolved`).toBe(false);
              expectBytes(part!, whole.subarray(from, from + length), `readWritten of a range of ${path}`);
            }
            const past = await destination.readWritten(path, size, new Uint8Array(1));
            expect(past, `readWritten past the end of ${path}`).toBeUndefined();
          }
          const missing = await destination.readWritten('/never-written.bin', 0, new Uint8Array(1));
          expect(missing, 'readWritten of a path never written').toBeUndefined();
          await destination.finish();
        }),
      timeout,
    );

    it(
      'a content stream that throws midway: write rejects, no file and no temporary is left',
      () =>
        withDestination(setup, async ({ destination, readBack }) => {
          const root = destinationTree(caps)[0]!;
          const dir: TreeEntry = { attributes: { ...root.attributes, path: '/d' } };
          await writeTree(destination, [root, dir]);
          const failure = new Error('conformance: content failed a check');
          const size = 1024 * 1024;
          async function* broken(): AsyncGenerator<Uint8Array> {
            yield deterministicBytes(1, 256 * 1024);
            await new Promise((resolve) => setTimeout(resolve, 1));
            yield deterministicBytes(2, 256 * 1024);
            throw failure;
          }
          const attributes: EntryAttributes = {
            path: '/d/broken.bin',
            type: 'file',
            size,
            mtime: { sec: 1_650_000_000, nsec: 0 },
            mode: 0o644,
            metadata: caps.fileMetadata?.('/d/broken.bin') ?? {},
          };
          let thrown: unknown;
          try {
            const result = await destination.write(attributes, broken());
            expect.fail(`write() of a failing stream resolved with ${JSON.stringify(result)}`);
          } catch (err) {
            thrown = err;
          }
          const propagated = thrown === failure || (thrown instanceof Error && thrown.cause === failure);
          expect(propagated, `write() rejects with the stream's error, got ${describeError(thrown)}`).toBe(
            true,
          );
          // The destination goes on with other entries.
          const ok: TreeEntry = {
            attributes: {
              ...attributes,
              path: '/d/ok.txt',
              size: 3,
              metadata: caps.fileMetadata?.('/d/ok.txt') ?? {},
            },
            parts: [new Uint8Array([1, 2, 3])],
          };
          await writeTree(destination, [ok]);
          await destination.finish();
          const got = await readBack();
          expect(got.has('/d/broken.bin'), 'the failed file exists under its final name').toBe(false);
          checkReadBack({ ...caps, mtimePrecisionNs: undefined, mode: false }, [root, dir, ok], got);
        }),
      timeout,
    );

    destinationExistingCases(setup, caps, timeout);
    destinationVersionsCases(setup, caps, timeout);
  });
}

/**
 * Registers only the cases of versions (destination-versions-cases.ts: `keepsVersions`, `remove`)
 * in a `describe` block of their own: for a second setup of a destination, one that keeps
 * versions (a versioned bucket), whose other cases the full suite already runs.
 */
export function destinationVersionsConformance(
  name: string,
  setup: DestinationSetup,
  caps: DestinationCapabilities = {},
): void {
  describe(`Destination conformance, versions: ${name}`, () => {
    destinationVersionsCases(setup, caps, caps.timeoutMs ?? 120_000);
  });
}
