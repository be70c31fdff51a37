import {
  destinationConformance,
  type ReadBackEntry,
  sourceConformance,
} from '@kloset/connector-contract/conformance';
import { MemoryDestination, MemorySource } from '@kloset/connector-contract/testing';
import { afterAll, describe, expect, it } from 'vitest';

let maxInFlight = 0;
// The suite writes siblings concurrently, within the destination's concurrency.
afterAll(() => expect(maxInFlight).toBe(3));

sourceConformance(
  'MemorySource',
  async (fixture) => ({
    source: new MemorySource(
      [
        ...fixture.files.map((f) => ({
          path: f.path,
          type: 'file' as const,
          bytes: f.bytes,
          ...(f.mtime ? { mtime: f.mtime } : {}),
        })),
        ...fixture.emptyDirectories.map((path) => ({ path, type: 'directory' as const })),
      ],
      { chunkSize: 1000 },
    ),
    cleanup: async () => {},
  }),
  { mtimePrecisionNs: 0 },
);

// A source whose files' metadata comes with their content (as S3's GetObject headers do).
sourceConformance(
  'MemorySource with metadataOnOpen and a concurrency',
  async (fixture) => ({
    source: new MemorySource(
      fixture.files.map((f) => ({
        path: f.path,
        type: 'file' as const,
        bytes: f.bytes,
        metadata: { 'test.path': f.path },
        openedMetadata: { 'test.path': f.path, 'test.header': `of ${f.path}` },
      })),
      { chunkSize: 1000, concurrency: 16 },
    ),
    cleanup: async () => {},
  }),
  { emptyDirectories: false },
);

destinationConformance(
  'MemoryDestination',
  async () => {
    const destination = new MemoryDestination({ concurrency: 3 });
    return {
      destination,
      readBack: async () => {
        const out = new Map<string, ReadBackEntry>();
        for (const [path, { attributes: a, bytes }] of destination.entries) {
          out.set(path, {
            type: a.type,
            mtime: a.mtime,
            metadata: a.metadata,
            ...(bytes ? { bytes } : {}),
            ...(a.mode === undefined ? {} : { mode: a.mode }),
            ...(a.linkTarget === undefined ? {} : { linkTarget: a.linkTarget }),
          });
        }
        return out;
      },
      cleanup: async () => {
        expect(destination.violations).toEqual([]);
        maxInFlight = Math.max(maxInFlight, destination.maxInFlight);
      },
    };
  },
  { symlinks: true, mode: true, mtimePrecisionNs: 0, fileMetadata: (path) => ({ 'test.path': path }) },
);

describe('MemoryDestination', () => {
  it('refuses a child written before its parent', async () => {
    const d = new MemoryDestination();
    const attrs = { type: 'directory' as const, size: 0, mtime: { sec: 0, nsec: 0 }, metadata: {} };
    expect((await d.write({ ...attrs, path: '/a' })).ok).toBe(false);
    expect((await d.write({ ...attrs, path: '/' })).ok).toBe(true);
    expect((await d.write({ ...attrs, path: '/a' })).ok).toBe(true);
    expect(d.violations).toHaveLength(1);
  });
});
