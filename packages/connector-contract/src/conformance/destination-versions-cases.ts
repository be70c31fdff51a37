/**
 * Conformance cases of what a restore of every version of every key needs: `keepsVersions` (does
 * the destination keep the versions written over each other) and `remove` (a plain delete).
 */
import { expect, it } from 'vitest';
import { expectBytes } from './assertions.ts';
import { withDestination, writeTree } from './destination-harness.ts';
import {
  type DestinationCapabilities,
  type DestinationSetup,
  destinationTree,
  fileEntry,
  type TreeEntry,
  text,
} from './destination-tree.ts';

/** Registers the cases (inside the `describe` of destinationConformance). */
export function destinationVersionsCases(
  setup: DestinationSetup,
  caps: DestinationCapabilities,
  timeout: number,
): void {
  it(
    'keepsVersions and remove are offered together; keepsVersions says what the capabilities say and creates nothing',
    () =>
      withDestination(setup, async ({ destination, readBack }) => {
        const { keepsVersions, remove } = destination;
        expect(keepsVersions === undefined, 'keepsVersions and remove are offered together').toBe(
          remove === undefined,
        );
        const keeps = (await destination.keepsVersions?.()) ?? false;
        expect(keeps, 'keepsVersions()').toBe(caps.keepsVersions ?? false);
        const before = await readBack().catch(() => new Map<string, unknown>());
        expect(
          [...before.keys()].filter((p) => p !== '/'),
          'keepsVersions created nothing',
        ).toEqual([]);
      }),
    timeout,
  );

  it(
    'remove, when offered, removes a written file, leaves the others, and is ok where nothing is',
    () =>
      withDestination(setup, async ({ destination, readBack }) => {
        if (destination.remove === undefined) return;
        const root = destinationTree(caps)[0]!;
        const dir: TreeEntry = { attributes: { ...root.attributes, path: '/d' } };
        const gone = fileEntry(caps, '/d/gone.txt', text('removed\n'));
        const kept = fileEntry(caps, '/d/kept.txt', text('kept\n'));
        await writeTree(destination, [root, dir, gone, kept]);
        const removed = await destination.remove(gone.attributes);
        expect(removed, `remove of a written file: ${removed.error ?? ''}`).toMatchObject({
          path: '/d/gone.txt',
          ok: true,
        });
        const never = fileEntry(caps, '/d/never-written.txt', text('x')).attributes;
        const nothing = await destination.remove(never);
        expect(nothing.ok, `remove where nothing is: ${nothing.error ?? ''}`).toBe(true);
        // Written again after its removal: the latest write is what is there.
        const again = fileEntry(caps, '/d/back.txt', text('first\n'));
        await writeTree(destination, [again]);
        await destination.remove(again.attributes);
        const back = fileEntry(caps, '/d/back.txt', text('written again\n'));
        await writeTree(destination, [back]);
        await destination.finish();
        const got = await readBack();
        expect(got.has('/d/gone.txt'), 'the removed file is read back').toBe(false);
        expect(got.has('/d/never-written.txt'), 'remove created something').toBe(false);
        expectBytes(got.get('/d/kept.txt')?.bytes ?? new Uint8Array(0), kept.parts![0]!, 'the kept file');
        expectBytes(
          got.get('/d/back.txt')?.bytes ?? new Uint8Array(0),
          back.parts![0]!,
          'the file written again',
        );
      }),
    timeout,
  );
}
