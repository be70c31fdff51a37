/**
 * The options the S3 connectors take besides `location`, the same for the three roles
 * (plus `storage_class` for storage and destination).
 */
import { type OptionSpec, TIMEOUT_OPTION } from '@kloset/connector-contract';

/**
 * Default number of requests in flight per connector: 32, like `rclone copy --transfers 32`. On
 * small objects S3 is latency bound (gen-dataset on RGW: a first backup 26.4 s at 16, 20.9 s at 32,
 * 20.1 s at 64; a restore into a bucket 28.3 s at 16, 21.5 s at 32).
 */
export const DEFAULT_CONCURRENCY = 32;

/** Options shared by the S3 source, storage and destination. */
export const S3_COMMON_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'access_key',
    type: 'string',
    required: false,
    description: 'Access key id. Without it, the standard AWS credential chain applies.',
  },
  {
    name: 'secret_access_key',
    type: 'string',
    required: false,
    secret: true,
    description: 'Secret access key (with access_key).',
  },
  {
    name: 'session_token',
    type: 'string',
    required: false,
    secret: true,
    description: 'Session token for temporary credentials (with access_key and secret_access_key).',
  },
  {
    name: 'profile',
    type: 'string',
    required: false,
    description:
      "A profile of the AWS shared files (AWS_CONFIG_FILE or ~/.aws/config, AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials), as the AWS CLI's --profile: its credentials (keys, role, SSO, process) and its region. Not with access_key. Without it and without access_key, AWS_PROFILE names the profile (its region; the credential chain reads its keys).",
  },
  {
    name: 'region',
    type: 'string',
    required: false,
    description:
      'Signing region. Default: taken from an AWS endpoint name, else from the profile, else us-east-1.',
  },
  {
    name: 'use_tls',
    type: 'boolean',
    required: false,
    default: 'true',
    description: 'Talk HTTPS to the endpoint (false: plain HTTP).',
  },
  {
    name: 'tls_insecure_no_verify',
    type: 'boolean',
    required: false,
    default: 'false',
    description: 'Skip TLS certificate verification. Dangerous: only for test servers you trust.',
  },
  {
    name: 'virtual_host',
    type: 'boolean',
    required: false,
    default: 'false',
    description: 'Put the bucket in the host name (BUCKET.ENDPOINT) instead of the path.',
  },
  {
    name: 'concurrency',
    type: 'integer',
    required: false,
    default: String(DEFAULT_CONCURRENCY),
    min: 1,
    max: 256,
    description: 'Requests in flight at once (also the size of the connection pool).',
  },
  TIMEOUT_OPTION,
];

/** `storage_class`, for the storage and the destination. */
export const STORAGE_CLASS_OPTION: OptionSpec = {
  name: 'storage_class',
  type: 'string',
  required: false,
  description:
    'Storage class of the objects written (STANDARD, STANDARD_IA, GLACIER_IR, ...). Default: the bucket default.',
};
