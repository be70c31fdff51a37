/**
 * Conformance cases of what a restore over existing content needs: `stat` and `readExisting`
 * (read-only looks at what exists) and `write` with `createOnly` (never replace).
 */
import { expect, it } from 'vitest';
import type { EntryAttributes } from '../source/record.ts';
import { concatBytes, describeError, expectBytes } from './assertions.ts';
import { withDestination, writeTree } from './destination-harness.ts';
import {
  type DestinationCapabilities,
  type DestinationSetup,
  destinationTree,
  fileEntry,
  streamParts,
  type TreeEntry,
  text,
} from './destination-tree.ts';

/** Registers the cases (inside the `describe` of destinationConformance). */
export function destinationExistingCases(
  setup: DestinationSetup,
  caps: DestinationCapabilities,
  timeout: number,
): void {
  it(
    'stat and readExisting, when offered, see what exists, and create nothing',
    () =>
      withDestination(setup, async ({ destination, readBack }) => {
        const { stat, readExisting } = destination;
        expect(stat === undefined, 'stat and readExisting are offered together').toBe(
          readExisting === undefined,
        );
        if (stat === undefined || readExisting === undefined) return;
        const tree = destinationTree(caps);
        const absent: EntryAttributes = fileEntry(caps, '/docs/readme.txt', text('x')).attributes;
        expect(await destination.stat!(absent), 'stat before anything was written').toBeUndefined();
        expect(await destination.readExisting!(absent, 0, new Uint8Array(1))).toBeUndefined();
        // A readBack that fails finds no restored root at all: nothing was created either.
        const before = await readBack().catch(() => new Map<string, unknown>());
        expect(
          [...before.keys()].filter((p) => p !== '/'),
          'stat created nothing',
        ).toEqual([]);

        await writeTree(destination, tree);
        await destination.finish();
        for (const { attributes: a, parts } of tree) {
          if (a.path === '/') continue;
          let got: Awaited<ReturnType<NonNullable<typeof stat>>>;
          try {
            got = await destination.stat!(a);
          } catch (err) {
            expect.fail(`stat(${a.path}) threw: ${describeError(err)}`);
          }
          if (a.type === 'directory' && caps.directories === false) continue;
          expect(got?.type, `stat(${a.path}).type`).toBe(a.type);
          if (a.type === 'symlink') expect(got?.linkTarget, `stat(${a.path}).linkTarget`).toBe(a.linkTarget);
          if (a.type !== 'file') continue;
          expect(got?.size, `stat(${a.path}).size`).toBe(a.size);
          const whole = concatBytes(parts!);
          const all = await destination.readExisting!(a, 0, new Uint8Array(a.size));
          expectBytes(all ?? new Uint8Array(0), whole, `readExisting of all of ${a.path}`);
          if (a.size >= 3) {
            const from = Math.floor(a.size / 3);
            const part = await destination.readExisting!(a, from, new Uint8Array(from));
            expectBytes(part ?? new Uint8Array(0), whole.subarray(from, 2 * from), `a range of ${a.path}`);
          }
          const past = await destination.readExisting!(a, a.size, new Uint8Array(1));
          expect(past, `readExisting past the end of ${a.path}`).toBeUndefined();
        }
        const never = fileEntry(caps, '/docs/never-written.txt', text('x')).attributes;
        expect(await destination.stat!(never), 'stat of a path never written').toBeUndefined();
      }),
    timeout,
  );

  it(
    'createOnly writes what is absent and never replaces what exists',
    () =>
      withDestination(setup, async ({ destination, readBack }) => {
        const root = destinationTree(caps)[0]!;
        const dir: TreeEntry = { attributes: { ...root.attributes, path: '/d' } };
        const first = fileEntry(caps, '/d/kept.txt', text('first content\n'));
        await writeTree(destination, [root, dir, first]);
        const second = fileEntry(caps, '/d/kept.txt', text('second, longer content\n'));
        const refused = await destination.write(second.attributes, streamParts(second.parts!), {
          createOnly: true,
        });
        expect(refused, 'createOnly write over an existing file').toMatchObject({
          path: '/d/kept.txt',
          ok: false,
          exists: true,
        });
        const fresh = fileEntry(caps, '/d/new.txt', text('new\n'));
        const created = await destination.write(fresh.attributes, streamParts(fresh.parts!), {
          createOnly: true,
        });
        expect(created.ok, `createOnly write of an absent file: ${created.error ?? ''}`).toBe(true);
        expect(created.exists, 'exists of a createOnly write that wrote').toBeUndefined();
        const again = await destination.write(dir.attributes, undefined, { createOnly: true });
        expect(again.ok, `createOnly write of an existing directory merges: ${again.error ?? ''}`).toBe(true);
        await destination.finish();
        const got = await readBack();
        expectBytes(got.get('/d/kept.txt')?.bytes ?? new Uint8Array(0), first.parts![0]!, 'the kept file');
        expectBytes(got.get('/d/new.txt')?.bytes ?? new Uint8Array(0), fresh.parts![0]!, 'the new file');
        const unexpected = [...got.keys()].filter(
          (p) => !['/', '/d', '/d/kept.txt', '/d/new.txt'].includes(p),
        );
        expect(unexpected, 'entries left besides those written (temporaries?)').toEqual([]);
      }),
    timeout,
  );

  it(
    'a write without createOnly replaces an existing file whole',
    () =>
      withDestination(setup, async ({ destination, readBack }) => {
        const root = destinationTree(caps)[0]!;
        const older = fileEntry(caps, '/replaced.txt', text('an older and longer content\n'));
        await writeTree(destination, [root, older]);
        const newer = fileEntry(caps, '/replaced.txt', text('newer\n'));
        await writeTree(destination, [newer]);
        await destination.finish();
        const got = await readBack();
        expectBytes(got.get('/replaced.txt')?.bytes ?? new Uint8Array(0), newer.parts![0]!, 'replaced file');
      }),
    timeout,
  );
}
