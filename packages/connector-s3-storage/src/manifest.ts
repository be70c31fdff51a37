/** The S3 storage connector, as the `s3` package manifest lists it. */
import type { ConnectorParams, OptionSpec, Storage, StorageConnector } from '@kloset/connector-contract';
import {
  checkS3Location,
  readS3Options,
  readS3Settings,
  resolveS3Settings,
  S3_COMMON_OPTIONS,
  STORAGE_CLASS_OPTION,
} from '@kloset/s3-common';
import { S3AsOfStorage } from './as-of-storage.ts';
import { lockPolicyOf, OBJECT_LOCK_OPTIONS } from './object-lock.ts';
import { S3Storage } from './s3-storage.ts';

/** Options of the S3 storage: the common S3 options, `storage_class`, `object_lock` and `retention`. */
export const S3_STORAGE_OPTIONS: readonly OptionSpec[] = [
  ...S3_COMMON_OPTIONS,
  STORAGE_CLASS_OPTION,
  ...OBJECT_LOCK_OPTIONS,
];

/**
 * Creates an S3Storage from a location and options (no network access until the first call); with
 * `asOf`, the read-only store as it was then (as-of-storage.ts).
 */
export async function createS3Storage(params: ConnectorParams): Promise<Storage> {
  const settings = await resolveS3Settings(params, S3_STORAGE_OPTIONS);
  if (params.asOf !== undefined) return new S3AsOfStorage({ settings, asOf: params.asOf });
  const lock = lockPolicyOf(readS3Options(params, S3_STORAGE_OPTIONS));
  return new S3Storage({ settings, ...(lock !== undefined ? { lock } : {}) });
}

/** Storage connector for `s3://ENDPOINT/BUCKET[/PREFIX]` locations. */
export const s3StorageConnector: StorageConnector = {
  role: 'storage',
  protocols: ['s3'],
  options: S3_STORAGE_OPTIONS,
  asOf: true,
  checkLocation: checkS3Location,
  checkOptions: (params) => {
    readS3Settings(params, S3_STORAGE_OPTIONS);
    lockPolicyOf(readS3Options(params, S3_STORAGE_OPTIONS));
  },
  create: createS3Storage,
};
