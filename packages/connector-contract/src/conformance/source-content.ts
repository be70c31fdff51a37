/**
 * Reading records' content in the Source conformance suite, with the metadata a record with
 * `metadataOnOpen` learns when opened: records are compared by their complete attributes.
 */
import { expect } from 'vitest';
import type { EntryMetadata, EntryPath, SourceRecord } from '../source/record.ts';
import { type PreviousEntry, previousEntryOf, type ScanContext } from '../source/scan-context.ts';
import type { Source } from '../source/source.ts';
import { concatBytes, expectBytes, mapLimit } from './assertions.ts';
import type { FixtureFile } from './source-fixture.ts';

/** A file's content and the metadata its opening brought (undefined without `metadataOnOpen`). */
export interface OpenedFile {
  readonly bytes: Uint8Array;
  readonly metadata: EntryMetadata | undefined;
}

/**
 * Opens `record` and reads it to the end, checking that every chunk is a Uint8Array and that the
 * content carries metadata exactly when the record has `metadataOnOpen`, metadata that completes
 * the record's (a map of strings holding every key of the record's metadata, same value).
 */
export async function openFile(record: SourceRecord): Promise<OpenedFile> {
  const content = await record.open();
  const chunks: Uint8Array[] = [];
  for await (const chunk of content) {
    expect(chunk, `content of ${record.path}: every chunk is a Uint8Array`).toBeInstanceOf(Uint8Array);
    chunks.push(chunk);
  }
  const { metadata } = content;
  if (record.metadataOnOpen !== true) {
    expect(metadata, `metadata brought by open() of ${record.path}, which has no metadataOnOpen`).toBe(
      undefined,
    );
    return { bytes: concatBytes(chunks), metadata };
  }
  expect(metadata, `metadata brought by open() of ${record.path} (metadataOnOpen)`).toBeTypeOf('object');
  for (const [key, value] of Object.entries(metadata ?? {})) {
    expect(typeof value, `opened metadata[${JSON.stringify(key)}] of ${record.path}`).toBe('string');
  }
  for (const [key, value] of Object.entries(record.metadata)) {
    expect(metadata?.[key], `opened metadata of ${record.path} completes the record's: ${key}`).toBe(value);
  }
  return { bytes: concatBytes(chunks), metadata };
}

/** The complete attributes of a record: with the metadata its opening brought, if any. */
export function completeEntry(record: SourceRecord, opened: OpenedFile | undefined): PreviousEntry {
  const entry = previousEntryOf(record);
  return opened?.metadata === undefined ? entry : { ...entry, metadata: opened.metadata };
}

/**
 * Scans `source` with `context` (failing on duplicates and on records with an error), opens every
 * file (4 at once, after the scan), checks its content against the fixture, and returns the
 * complete attributes by path.
 */
export async function completeScan(
  source: Source,
  context: ScanContext | undefined,
  files: ReadonlyMap<EntryPath, FixtureFile>,
  what: string,
): Promise<Map<EntryPath, PreviousEntry>> {
  const records = new Map<EntryPath, SourceRecord>();
  for await (const r of source.scan(undefined, context)) {
    expect(records.has(r.path), `${what} yielded ${JSON.stringify(r.path)} twice`).toBe(false);
    expect(r.error, `error of ${r.path} in ${what}`).toBeUndefined();
    records.set(r.path, r);
  }
  const out = new Map<EntryPath, PreviousEntry>();
  for (const [path, r] of records) if (r.type !== 'file') out.set(path, completeEntry(r, undefined));
  await mapLimit(
    [...records.values()].filter((r) => r.type === 'file'),
    4,
    async (r) => {
      const opened = await openFile(r);
      const file = files.get(r.path);
      if (file !== undefined) expectBytes(opened.bytes, file.bytes, `content of ${r.path} (${what})`);
      out.set(r.path, completeEntry(r, opened));
    },
  );
  return out;
}
