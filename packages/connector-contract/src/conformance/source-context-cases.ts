/**
 * Source conformance cases for `scan(signal, context)` (source/scan-context.ts): whatever the
 * previous entries say, the records are those of a scan without context, and they open.
 */
import { expect, it } from 'vitest';
import type { EntryPath } from '../source/record.ts';
import type { PreviousEntry, ScanContext } from '../source/scan-context.ts';
import type { Source } from '../source/source.ts';
import { completeScan } from './source-content.ts';
import type { FixtureFile } from './source-fixture.ts';

/**
 * A previous entry that differs from the complete entry in one of size, mtime or change token
 * (cycling with `i`), with metadata the source must not take.
 */
function stalePrevious(p: PreviousEntry, i: number): PreviousEntry {
  const metadata = { ...p.metadata, 'conformance.stale': 'taken from a stale previous entry' };
  if (i % 3 === 0) return { ...p, metadata, changeToken: `stale:${p.changeToken ?? ''}` };
  if (i % 3 === 1) return { ...p, metadata, mtime: { sec: p.mtime.sec - 1, nsec: p.mtime.nsec } };
  return { ...p, metadata, size: p.size + 1 };
}

function expectSameEntries(
  got: Map<EntryPath, PreviousEntry>,
  want: Map<EntryPath, PreviousEntry>,
  what: string,
): void {
  expect([...got.keys()].sort(), `paths of ${what}`).toEqual([...want.keys()].sort());
  for (const [path, entry] of got) expect(entry, `attributes of ${path} in ${what}`).toEqual(want.get(path));
}

/**
 * Registers the context cases inside the suite's `describe`. `source` gives the source under test
 * (ready when the tests run). Records are compared complete: with the metadata their content
 * brings (`metadataOnOpen`), so every file of every scan is opened and its content checked.
 */
export function sourceContextCases(
  source: () => Source,
  files: ReadonlyMap<EntryPath, FixtureFile>,
  timeout: number,
): void {
  it(
    'scan with a context whose previous entries match yields the same records, and they open',
    async () => {
      const want = await completeScan(source(), undefined, files, 'a scan without context');
      const asked: EntryPath[] = [];
      const context: ScanContext = {
        previous: async (path) => {
          asked.push(path);
          const p = want.get(path);
          return p?.type === 'file' ? p : undefined;
        },
      };
      const what = 'a scan whose previous entries match';
      expectSameEntries(await completeScan(source(), context, files, what), want, what);
      for (const path of asked)
        expect(want.has(path), `previous() asked for ${path}: not an entry`).toBe(true);
    },
    timeout,
  );

  it(
    'scan with a context never takes attributes from a previous entry that differs in size, mtime or change token',
    async () => {
      const want = await completeScan(source(), undefined, files, 'a scan without context');
      const stale = new Map<EntryPath, PreviousEntry>();
      let i = 0;
      for (const [path, p] of want) if (p.type === 'file') stale.set(path, stalePrevious(p, i++));
      const context: ScanContext = { previous: async (path) => stale.get(path) };
      const what = 'a scan whose previous entries are stale';
      expectSameEntries(await completeScan(source(), context, files, what), want, what);
    },
    timeout,
  );
}
