/**
 * Source conformance cases for `scan(signal, context)` (source/scan-context.ts): whatever the
 * previous entries say, the records are those of a scan without context, and they open.
 */
import { expect, it } from 'vitest';
import type { EntryPath, SourceRecord } from '../source/record.ts';
import {
  previousEntryOf as asPrevious,
  type PreviousEntry,
  type ScanContext,
} from '../source/scan-context.ts';
import type { Source } from '../source/source.ts';
import { concatBytes, expectBytes, mapLimit } from './assertions.ts';
import type { FixtureFile } from './source-fixture.ts';

/**
 * A previous entry that differs from the record in one of size, mtime or change token (cycling
 * with `i`), with metadata the source must not take.
 */
function stalePrevious(r: SourceRecord, i: number): PreviousEntry {
  const p = asPrevious(r);
  const metadata = { ...r.metadata, 'conformance.stale': 'taken from a stale previous entry' };
  if (i % 3 === 0) return { ...p, metadata, changeToken: `stale:${r.changeToken ?? ''}` };
  if (i % 3 === 1) return { ...p, metadata, mtime: { sec: r.mtime.sec - 1, nsec: r.mtime.nsec } };
  return { ...p, metadata, size: r.size + 1 };
}

/** Scans with `context`, failing on duplicates. */
async function scanWith(source: Source, context: ScanContext): Promise<Map<EntryPath, SourceRecord>> {
  const out = new Map<EntryPath, SourceRecord>();
  for await (const r of source.scan(undefined, context)) {
    expect(out.has(r.path), `scan(…, context) yielded ${JSON.stringify(r.path)} twice`).toBe(false);
    out.set(r.path, r);
  }
  return out;
}

function expectSameRecords(
  got: Map<EntryPath, SourceRecord>,
  want: Map<EntryPath, SourceRecord>,
  what: string,
): void {
  expect([...got.keys()].sort(), `paths of ${what}`).toEqual([...want.keys()].sort());
  for (const [path, r] of got) {
    const w = want.get(path)!;
    expect(asPrevious(r), `attributes of ${path} in ${what}`).toEqual(asPrevious(w));
    expect(r.error, `error of ${path} in ${what}`).toBeUndefined();
  }
}

async function readAll(record: SourceRecord): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of await record.open()) chunks.push(chunk);
  return concatBytes(chunks);
}

/**
 * Registers the context cases inside the suite's `describe`. `source` and `firstScan` give the
 * source under test and the records of its plain scan (both ready when the tests run).
 */
export function sourceContextCases(
  source: () => Source,
  firstScan: () => Map<EntryPath, SourceRecord>,
  files: ReadonlyMap<EntryPath, FixtureFile>,
  timeout: number,
): void {
  it(
    'scan with a context whose previous entries match yields the same records, and they open',
    async () => {
      const first = firstScan();
      const asked: EntryPath[] = [];
      const got = await scanWith(source(), {
        previous: async (path) => {
          asked.push(path);
          const r = first.get(path);
          return r?.type === 'file' ? asPrevious(r) : undefined;
        },
      });
      expectSameRecords(got, first, 'a scan whose previous entries match');
      for (const path of asked)
        expect(first.has(path), `previous() asked for ${path}: not an entry`).toBe(true);
      await mapLimit([...files.values()], 4, async (file) => {
        const record = got.get(file.path);
        expect(record, `record of ${file.path}`).toBeDefined();
        expectBytes(await readAll(record!), file.bytes, `content of ${file.path} (scan with context)`);
      });
    },
    timeout,
  );

  it(
    'scan with a context never takes attributes from a previous entry that differs in size, mtime or change token',
    async () => {
      const first = firstScan();
      const stale = new Map<EntryPath, PreviousEntry>();
      let i = 0;
      for (const [path, r] of first) if (r.type === 'file') stale.set(path, stalePrevious(r, i++));
      const got = await scanWith(source(), { previous: async (path) => stale.get(path) });
      expectSameRecords(got, first, 'a scan whose previous entries are stale');
    },
    timeout,
  );
}
