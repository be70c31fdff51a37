/**
 * The `s3` connector package: the S3 source, storage and destination under one manifest, as
 * `kloset pkg build s3` bundles it and `kloset pkg add s3` installs it.
 */
import type { ConnectorManifest } from '@kloset/connector-contract';
import { s3DestinationConnector } from '@kloset/connector-s3-dest';
import { s3SourceConnector } from '@kloset/connector-s3-source';
import { s3StorageConnector } from '@kloset/connector-s3-storage';

/** The version of this package; a test keeps it equal to package.json's. */
export const S3_PACKAGE_VERSION = '0.1.0';

/** The manifest of the `s3` package: `s3://ENDPOINT/BUCKET[/PREFIX]` as source, store and destination. */
export const manifest: ConnectorManifest = {
  name: 's3',
  version: S3_PACKAGE_VERSION,
  description: 'S3-compatible object storage: back up buckets, keep a store in one, restore into one',
  connectors: [s3SourceConnector, s3StorageConnector, s3DestinationConnector],
};
