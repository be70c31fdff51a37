/** The S3 source connector, as the `s3` package manifest lists it. */
import type { ConnectorParams, OptionSpec, Source, SourceConnector } from '@kloset/connector-contract';
import { readS3Settings, S3_COMMON_OPTIONS } from '@kloset/s3-common';
import { S3Source } from './s3-source.ts';

/** Options of the S3 source: the common S3 options (`concurrency` bounds the HeadObject calls). */
export const S3_SOURCE_OPTIONS: readonly OptionSpec[] = S3_COMMON_OPTIONS;

/** Creates an S3Source from a location and options (no network access until `scan`). */
export async function createS3Source(params: ConnectorParams): Promise<Source> {
  return new S3Source({ settings: readS3Settings(params, S3_SOURCE_OPTIONS) });
}

/** Source connector for `s3://ENDPOINT/BUCKET[/PREFIX]` locations. */
export const s3SourceConnector: SourceConnector = {
  role: 'source',
  protocols: ['s3'],
  options: S3_SOURCE_OPTIONS,
  create: createS3Source,
};
