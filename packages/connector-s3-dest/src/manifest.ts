/** The S3 destination connector, as the `s3` package manifest lists it. */
import {
  ConnectorError,
  type ConnectorParams,
  type Destination,
  type DestinationConnector,
  type OptionSpec,
} from '@kloset/connector-contract';
import {
  checkS3Location,
  readS3Options,
  readS3Settings,
  resolveS3Settings,
  S3_COMMON_OPTIONS,
  STORAGE_CLASS_OPTION,
} from '@kloset/s3-common';
import { S3Destination, type S3DestinationConfig } from './s3-destination.ts';

/** `abort_uploads_after`: the age past which a restore aborts incomplete uploads under its prefix. */
export const ABORT_UPLOADS_AFTER_OPTION: OptionSpec = {
  name: 'abort_uploads_after',
  type: 'string',
  required: false,
  default: '24h',
  description:
    'At the end of a restore, abort the incomplete multipart uploads under the destination prefix ' +
    'started longer ago than this (30m, 24h, 7d; 0s: all; never: none): what restores killed midway ' +
    'left, invisible but stored and billed. Whoever started them: keep it longer than any upload ' +
    'into that prefix takes, so that no live upload is aborted.',
};

/** Options of the S3 destination: the common S3 options, `storage_class` and `abort_uploads_after`. */
export const S3_DESTINATION_OPTIONS: readonly OptionSpec[] = [
  ...S3_COMMON_OPTIONS,
  STORAGE_CLASS_OPTION,
  ABORT_UPLOADS_AFTER_OPTION,
];

const UNIT_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `abort_uploads_after` in ms (undefined: never), or ConnectorError `invalid` naming the option. */
export function parseAbortUploadsAfter(raw: string): number | undefined {
  if (raw === 'never') return undefined;
  const m = /^(\d{1,9})([smhd])$/.exec(raw);
  if (m === null) {
    throw new ConnectorError(
      'invalid',
      `option abort_uploads_after: expected a duration such as 30m, 24h or 7d, or never, got ${JSON.stringify(raw)}`,
    );
  }
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

/** The settings of an S3 destination; ConnectorError `invalid` naming a bad option. */
function destinationSettings(params: ConnectorParams): S3DestinationConfig {
  const settings = readS3Settings(params, S3_DESTINATION_OPTIONS);
  const abortAfter = String(readS3Options(params, S3_DESTINATION_OPTIONS).abort_uploads_after ?? '24h');
  return { settings, abortUploadsAfterMs: parseAbortUploadsAfter(abortAfter) };
}

/**
 * Creates an S3Destination and checks the bucket (one listing call; the bucket is created when it
 * is missing, unless `readOnly`), so that a wrong key or an unreachable endpoint fails here in one
 * line.
 */
export async function createS3Destination(params: ConnectorParams): Promise<Destination> {
  const destination = new S3Destination({
    ...destinationSettings(params),
    settings: await resolveS3Settings(params, S3_DESTINATION_OPTIONS),
  });
  try {
    await destination.prepare({ createBucket: params.readOnly !== true });
  } catch (err) {
    await destination.close();
    throw err;
  }
  return destination;
}

/** Destination connector for `s3://ENDPOINT/BUCKET[/PREFIX]` locations. */
export const s3DestinationConnector: DestinationConnector = {
  role: 'destination',
  protocols: ['s3'],
  options: S3_DESTINATION_OPTIONS,
  checkLocation: checkS3Location,
  checkOptions: (params) => void destinationSettings(params),
  create: createS3Destination,
};
