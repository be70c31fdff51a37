import { join } from 'node:path';
import {
  destinationConformance,
  sourceConformance,
  storageConformance,
} from '@kloset/connector-contract/conformance';
import { FsDestination, FsSource, FsStorage } from '@kloset/connector-fs';
import { materialize, readTree, tempDir } from './helpers.ts';

storageConformance(
  'FsStorage',
  async () => {
    const tmp = await tempDir();
    // A root that does not exist yet: create() makes it.
    return { storage: new FsStorage(join(tmp.dir, 'store')), cleanup: tmp.remove };
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
// after a slow inline call).
sourceConformance(
  'FsSource, thread pool only',
  async (fixture) => {
    const tmp = await tempDir();
    await materialize(tmp.dir, fixture);
    return { source: new FsSource(tmp.dir, { inlineCalls: { poolOnly: true } }), cleanup: tmp.remove };
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
