/** The `fs` connector package: source, storage and destination for local directories. */
import type { ConnectorManifest } from '@kloset/connector-contract';
import { FsDestination } from './destination/fs-destination.ts';
import { fsPathOf } from './location.ts';
import { FsSource } from './source/fs-source.ts';
import { FsStorage } from './storage/fs-storage.ts';

/**
 * The manifest of the fs connectors. Locations are plain paths (`/srv/data`, `./x`, `~/x`) or
 * `fs:///path` URLs. The destination takes an optional `concurrency` (default 8).
 */
export const manifest: ConnectorManifest = {
  name: 'fs',
  version: '0.1.0',
  description: 'Local directories: back them up, keep a store in one, restore into one',
  connectors: [
    {
      role: 'source',
      protocols: ['fs'],
      options: [],
      create: async ({ location }) => new FsSource(fsPathOf(location)),
    },
    {
      role: 'storage',
      protocols: ['fs'],
      options: [],
      create: async ({ location }) => new FsStorage(fsPathOf(location)),
    },
    {
      role: 'destination',
      protocols: ['fs'],
      options: [
        {
          name: 'concurrency',
          type: 'integer',
          required: false,
          default: '8',
          min: 1,
          max: 256,
          description: 'How many files are written at once',
        },
      ],
      create: async ({ location, options }) =>
        new FsDestination(fsPathOf(location), {
          concurrency: typeof options.concurrency === 'number' ? options.concurrency : 8,
        }),
    },
  ],
};
