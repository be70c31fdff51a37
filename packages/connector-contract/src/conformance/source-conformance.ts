/** The Source conformance suite: every Source implementation runs it from its own tests. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseName, isValidPath, nameFromBytes, parentPath } from '../source/path.ts';
import type { EntryPath, SourceRecord, Timestamp } from '../source/record.ts';
import type { Source } from '../source/source.ts';
import { describeError, expectBytes, mapLimit } from './assertions.ts';
import { openFile } from './source-content.ts';
import { sourceContextCases } from './source-context-cases.ts';
import {
  type FixtureFile,
  type SourceCapabilities,
  type SourceFixture,
  type SourceSetup,
  type SourceUnderTest,
  sourceFixture,
} from './source-fixture.ts';

/** Every directory the fixture implies, `/` included. */
function expectedDirectories(fixture: SourceFixture): Set<EntryPath> {
  const dirs = new Set<EntryPath>(['/']);
  const addParents = (path: EntryPath) => {
    for (let p = parentPath(path); !dirs.has(p); p = parentPath(p)) dirs.add(p);
  };
  for (const f of fixture.files) addParents(f.path);
  for (const d of fixture.emptyDirectories) {
    addParents(d);
    dirs.add(d);
  }
  return dirs;
}

function isTimestamp(t: Timestamp | undefined): boolean {
  return (
    t !== undefined &&
    Number.isSafeInteger(t.sec) &&
    Number.isInteger(t.nsec) &&
    t.nsec >= 0 &&
    t.nsec <= 999_999_999
  );
}

function nanos(t: Timestamp): bigint {
  return BigInt(t.sec) * 1_000_000_000n + BigInt(t.nsec);
}

/** Scans, failing on duplicates, and returns the records by path. */
async function scanByPath(source: Source): Promise<Map<EntryPath, SourceRecord>> {
  const byPath = new Map<EntryPath, SourceRecord>();
  for await (const record of source.scan()) {
    expect(byPath.has(record.path), `scan() yielded ${JSON.stringify(record.path)} twice`).toBe(false);
    byPath.set(record.path, record);
  }
  return byPath;
}

/**
 * Registers a `describe` block of Vitest tests checking that a Source follows the contract of
 * `Source` (source/source.ts) over a fixture (see `sourceFixture`): the root record, every file
 * exactly once with the right type, size and content (through `open()`, after the scan ended; with
 * complete metadata for records with `metadataOnOpen`), a valid `concurrency`,
 * every implied directory, valid and unique paths, valid timestamps and metadata, stable change
 * tokens, the same records from a scan with a ScanContext (matching or stale previous entries),
 * and prompt abort through an AbortSignal. Memory use is not checked here.
 *
 * `setup` is called once for the whole block; the suite closes the source and calls `cleanup`.
 *
 * @example
 * sourceConformance('fs', async (fixture) => {
 *   const dir = await materialize(fixture);
 *   return { source: new FsSource(dir), cleanup: () => rm(dir, { recursive: true }) };
 * }, { mtimePrecisionNs: 1000 });
 */
export function sourceConformance(name: string, setup: SourceSetup, caps: SourceCapabilities = {}): void {
  const timeout = caps.timeoutMs ?? 120_000;
  const fixture = sourceFixture(caps);
  const files = new Map<EntryPath, FixtureFile>(fixture.files.map((f) => [f.path, f]));
  const directories = expectedDirectories(fixture);

  describe(`Source conformance: ${name}`, () => {
    let handle: SourceUnderTest | undefined;
    let records = new Map<EntryPath, SourceRecord>();
    const source = () => {
      if (!handle) throw new Error('setup() failed: see the first error of this suite');
      return handle.source;
    };

    beforeAll(async () => {
      handle = await setup(fixture);
      records = await scanByPath(handle.source);
    }, timeout);

    afterAll(async () => {
      if (!handle) return;
      try {
        await handle.source.close();
      } finally {
        await handle.cleanup();
      }
    }, timeout);

    it('info names the protocol, origin and root', () => {
      const { info } = source();
      for (const key of ['protocol', 'origin', 'root'] as const) {
        expect(typeof info[key], `info.${key} is a string`).toBe('string');
        expect(info[key].length, `info.${key} is not empty`).toBeGreaterThan(0);
      }
    });

    it('concurrency, when set, is an integer of at least 1', () => {
      const { concurrency } = source();
      if (concurrency !== undefined)
        expect(Number.isInteger(concurrency) && concurrency >= 1, `concurrency (${concurrency})`).toBe(true);
    });

    it('metadataOnOpen is set only on files', () => {
      for (const [path, r] of records) {
        if (r.metadataOnOpen !== undefined && r.type !== 'file')
          expect.fail(`${r.type} ${path} has metadataOnOpen: only files are opened`);
      }
    });

    it('yields the root "/" as a directory', () => {
      const root = records.get('/');
      expect(root, 'a record with path "/"').toBeDefined();
      expect(root!.type, 'type of "/"').toBe('directory');
    });

    it('yields exactly the fixture: every file, every implied directory, nothing else', () => {
      const expected = [...directories, ...files.keys()].sort();
      expect([...records.keys()].sort(), 'paths yielded by scan()').toEqual(expected);
    });

    it('every path is valid, and no record carries an error', () => {
      for (const [path, record] of records) {
        expect(isValidPath(path), `path ${JSON.stringify(path)} is valid per isValidPath`).toBe(true);
        expect(record.error, `error of ${path}`).toBeUndefined();
      }
    });

    it('nameBytes and linkTargetBytes, when set, are what the escaped name and target stand for', () => {
      for (const [path, r] of records) {
        if (r.nameBytes !== undefined) {
          expect(path, 'the root has no nameBytes').not.toBe('/');
          expect(nameFromBytes(r.nameBytes), `nameBytes of ${path}`).toEqual({
            name: baseName(path),
            escaped: true,
          });
        }
        if (r.linkTargetBytes !== undefined) {
          expect(nameFromBytes(r.linkTargetBytes), `linkTargetBytes of ${path}`).toEqual({
            name: r.linkTarget,
            escaped: true,
          });
        }
      }
    });

    it('directories are directories with size 0; files are files with their size', () => {
      for (const dir of directories) {
        const r = records.get(dir);
        expect(r?.type, `type of ${dir}`).toBe('directory');
        expect(r?.size, `size of directory ${dir}`).toBe(0);
      }
      for (const [path, file] of files) {
        const r = records.get(path);
        expect(r?.type, `type of ${path}`).toBe('file');
        expect(r?.size, `size of ${path}`).toBe(file.bytes.length);
        expect(r?.linkTarget, `linkTarget of file ${path}`).toBeUndefined();
      }
    });

    it('mtime is a valid Timestamp and metadata a map of strings, on every record', () => {
      for (const [path, r] of records) {
        expect(isTimestamp(r.mtime), `mtime of ${path} (${JSON.stringify(r.mtime)})`).toBe(true);
        expect(
          typeof r.metadata === 'object' && r.metadata !== null,
          `metadata of ${path} is an object`,
        ).toBe(true);
        for (const [key, value] of Object.entries(r.metadata)) {
          expect(typeof value, `metadata[${JSON.stringify(key)}] of ${path}`).toBe('string');
        }
        for (const key of ['uid', 'gid', 'mode'] as const) {
          const v = r[key];
          if (v !== undefined) expect(Number.isInteger(v) && v >= 0, `${key} of ${path} (${v})`).toBe(true);
        }
      }
    });

    if (caps.mode !== false) {
      it('mode carries permission bits (0o7777 mask) on every record', () => {
        for (const [path, r] of records) {
          expect(r.mode, `mode of ${path}`).toBeTypeOf('number');
          expect(r.mode! & ~0o7777, `mode of ${path} has bits beyond 0o7777: ${r.mode?.toString(8)}`).toBe(0);
        }
      });
    }

    const precision = caps.mtimePrecisionNs;
    if (precision !== undefined) {
      it(`file mtimes match the fixture to within ${precision} ns`, () => {
        for (const [path, file] of files) {
          if (!file.mtime) continue;
          const got = records.get(path)!.mtime;
          const diff = nanos(got) - nanos(file.mtime);
          const abs = diff < 0n ? -diff : diff;
          expect(
            abs <= BigInt(precision),
            `mtime of ${path}: got ${JSON.stringify(got)}, expected ${JSON.stringify(file.mtime)}`,
          ).toBe(true);
        }
      });
    }

    it(
      'open() yields exactly the content of every file, after the scan ended, concurrently',
      async () => {
        await mapLimit([...files.values()], 4, async (file) => {
          const record = records.get(file.path);
          expect(record, `record of ${file.path}`).toBeDefined();
          expectBytes((await openFile(record!)).bytes, file.bytes, `content of ${file.path}`);
        });
      },
      timeout,
    );

    it(
      'a second scan yields the same paths, sizes, mtimes and change tokens',
      async () => {
        const again = await scanByPath(source());
        expect([...again.keys()].sort(), 'paths of the second scan').toEqual([...records.keys()].sort());
        for (const [path, r] of again) {
          const first = records.get(path)!;
          expect(r.size, `size of ${path} in the second scan`).toBe(first.size);
          expect(r.mtime, `mtime of ${path} in the second scan`).toEqual(first.mtime);
          expect(r.changeToken, `changeToken of ${path} in the second scan`).toBe(first.changeToken);
          if (caps.changeToken !== false && r.type === 'file') {
            expect(r.changeToken, `changeToken of file ${path}`).toBeTypeOf('string');
          }
        }
      },
      timeout,
    );

    sourceContextCases(source, files, timeout);

    it(
      'an abort stops the scan at the next record, with the abort reason',
      async () => {
        const controller = new AbortController();
        const reason = new Error('conformance: scan aborted');
        const iterator = source().scan(controller.signal)[Symbol.asyncIterator]();
        const first = await iterator.next();
        expect(first.done, 'the scan yields a first record').toBe(false);
        controller.abort(reason);
        let thrown: unknown;
        try {
          const next = await iterator.next();
          expect.fail(
            `after abort, scan() yielded ${next.done ? 'its end' : JSON.stringify(next.value.path)}`,
          );
        } catch (err) {
          thrown = err;
        }
        expect(thrown, `scan() throws the abort reason, got ${describeError(thrown)}`).toBe(reason);
      },
      timeout,
    );

    it(
      'a scan with an already aborted signal yields nothing and throws the reason',
      async () => {
        const reason = new Error('conformance: aborted before the scan');
        const signal = AbortSignal.abort(reason);
        let yielded = 0;
        let thrown: unknown;
        try {
          for await (const _ of source().scan(signal)) yielded++;
        } catch (err) {
          thrown = err;
        }
        expect(yielded, 'records yielded by a scan whose signal was already aborted').toBe(0);
        expect(thrown, `scan() throws the abort reason, got ${describeError(thrown)}`).toBe(reason);
      },
      timeout,
    );
  });
}
