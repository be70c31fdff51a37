/** The S3 destination connector, as the `s3` package manifest lists it. */
import type {
  ConnectorParams,
  Destination,
  DestinationConnector,
  OptionSpec,
} from '@kloset/connector-contract';
import { checkS3Location, readS3Settings, S3_COMMON_OPTIONS, STORAGE_CLASS_OPTION } from '@kloset/s3-common';
import { S3Destination } from './s3-destination.ts';

/** Options of the S3 destination: the common S3 options and `storage_class`. */
export const S3_DESTINATION_OPTIONS: readonly OptionSpec[] = [...S3_COMMON_OPTIONS, STORAGE_CLASS_OPTION];

/**
 * Creates an S3Destination and checks the bucket (one listing call; the bucket is created when it
 * is missing), so that a wrong key or an unreachable endpoint fails here in one line.
 */
export async function createS3Destination(params: ConnectorParams): Promise<Destination> {
  const destination = new S3Destination({ settings: readS3Settings(params, S3_DESTINATION_OPTIONS) });
  try {
    await destination.prepare();
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
  create: createS3Destination,
};
