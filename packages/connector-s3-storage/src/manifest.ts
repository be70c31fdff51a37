/** The S3 storage connector, as the `s3` package manifest lists it. */
import type { ConnectorParams, OptionSpec, Storage, StorageConnector } from '@kloset/connector-contract';
import {
  checkS3Location,
  readS3Settings,
  resolveS3Settings,
  S3_COMMON_OPTIONS,
  STORAGE_CLASS_OPTION,
} from '@kloset/s3-common';
import { S3Storage } from './s3-storage.ts';

/** Options of the S3 storage: the common S3 options and `storage_class`. */
export const S3_STORAGE_OPTIONS: readonly OptionSpec[] = [...S3_COMMON_OPTIONS, STORAGE_CLASS_OPTION];

/** Creates an S3Storage from a location and options (no network access until the first call). */
export async function createS3Storage(params: ConnectorParams): Promise<Storage> {
  return new S3Storage({ settings: await resolveS3Settings(params, S3_STORAGE_OPTIONS) });
}

/** Storage connector for `s3://ENDPOINT/BUCKET[/PREFIX]` locations. */
export const s3StorageConnector: StorageConnector = {
  role: 'storage',
  protocols: ['s3'],
  options: S3_STORAGE_OPTIONS,
  checkLocation: checkS3Location,
  checkOptions: (params) => void readS3Settings(params, S3_STORAGE_OPTIONS),
  create: createS3Storage,
};
