import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  destinationConformance,
  sourceConformance,
  storageConformance,
} from '@kloset/connector-contract/conformance';
import { FsDestination, FsSource, FsStorage } from '@kloset/connector-fs';
import { tempPathFor } from '../src/storage/atomic-file.ts';
import { materialize, readTree, tempDir } from './helpers.ts';

storageConformance(
  'FsStorage',
  async () => {
    const tmp = await tempDir();
    // A root that does not exist yet: create() makes it.
    const root = join(tmp.dir, 'store');
    let n = 0;
    // What a put stopped by a crash leaves: its temporary file beside the final name.
    const makeLeftover = async (id: string) => {
      const dir = join(root, 'packfiles', id.slice(0, 2));
      await mkdir(dir, { recursive: true });
      const bytes = 1000 + ++n;
      await writeFile(tempPathFor(join(dir, id)), new Uint8Array(bytes));
      return { bytes };
    };
    return { storage: new FsStorage(root), cleanup: tmp.remove, makeLeftover };
  },
  { openReadOnly: async (storage) => new FsStorage(storage.location, { mode: 'read-only' }) },
);

sourceConformance(
  'FsSource',
  async (fixture) => {
    const tmp = await tempDir();
    await materialize(tmp.dir, fixture);
    return { source: new FsSource(tmp.dir), cleanup: tmp.remove };
  },
  { mtimePrecisionNs: 1000 },
);

destinationConformance(
  'FsDestination',
  async () => {
    const tmp = await tempDir();
    const root = join(tmp.dir, 'restore');
    return { destination: new FsDestination(root), readBack: () => readTree(root), cleanup: tmp.remove };
  },
  { symlinks: true, mode: true, mtimePrecisionNs: 1000 },
);

// The same suites with every lstat, file creation and write in the thread pool (the path taken
// after a slow inline call); the source walking on the calling thread (no worker).
sourceConformance(
  'FsSource, thread pool only',
  async (fixture) => {
    const tmp = await tempDir();
    await materialize(tmp.dir, fixture);
    const source = new FsSource(tmp.dir, { inlineCalls: { poolOnly: true }, worker: false });
    return { source, cleanup: tmp.remove };
  },
  { mtimePrecisionNs: 1000 },
);

destinationConformance(
  'FsDestination, thread pool only',
  async () => {
    const tmp = await tempDir();
    const root = join(tmp.dir, 'restore');
    const destination = new FsDestination(root, { inlineCalls: { poolOnly: true } });
    return { destination, readBack: () => readTree(root), cleanup: tmp.remove };
  },
  { symlinks: true, mode: true, mtimePrecisionNs: 1000 },
);
