/** Typed S3 settings, built from a connector's location and options. */
import {
  ConnectorError,
  type ConnectorParams,
  type OptionSpec,
  type OptionValues,
  policyOfTimeout,
  type StorePolicy,
  validateOptions,
} from '@kloset/connector-contract';
import { isAwsHost, parseS3Location, regionOfAwsHost, type S3Location } from './location.ts';
import { DEFAULT_CONCURRENCY } from './options.ts';

/** Explicit credentials (from options). */
export interface S3Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** Network timeouts of one request, in milliseconds. */
export interface S3Timeouts {
  /** Establishing a connection (TCP and TLS). */
  readonly connectMs: number;
  /**
   * No answer: on the data plane, no progress sending the body and no response headers for this
   * long (the body goes in slices, each one written restarts it); on the control plane (the SDK),
   * the whole request.
   */
  readonly requestMs: number;
  /** A response body with no bytes for this long is dropped (stalled downloads). */
  readonly idleMs: number;
}

/** The timeouts of one attempt under `policy`: its attempt timeout, and at most 10 s to connect. */
export function timeoutsOf(policy: StorePolicy): S3Timeouts {
  const attempt = policy.attemptTimeoutMs;
  return { connectMs: Math.min(10_000, attempt), requestMs: attempt, idleMs: attempt };
}

/** The timeouts of the default policy: 10 s to connect, 15 s without an answer or a byte. */
export const DEFAULT_TIMEOUTS: S3Timeouts = timeoutsOf(policyOfTimeout(undefined));

/** Everything needed to talk to one bucket. */
export interface S3Settings {
  readonly location: S3Location;
  /** Explicit keys; undefined means `profile`, else the standard AWS credential chain. */
  readonly credentials?: S3Credentials;
  /** `profile=`: the credentials of this profile of the AWS shared files (not the whole chain). */
  readonly profile?: string;
  /** The shared files a profile was looked up in (resolveS3Settings), for the credential provider. */
  readonly sharedFiles?: { readonly config: string; readonly credentials: string };
  readonly region: string;
  readonly tlsInsecureNoVerify: boolean;
  /** Requests in flight at once, and the size of the connection pool. */
  readonly concurrency: number;
  /** Storage class for writes (storage, destination); undefined: the bucket default. */
  readonly storageClass?: string;
  readonly timeouts: S3Timeouts;
  /** Retries and deadline of each operation (the `timeout` option); `timeouts` follow from it. */
  readonly retry: StorePolicy;
}

const IGNORED = ['location', 'passphrase'];
const STORAGE_CLASS_PATTERN = /^[A-Z][A-Z0-9_]{0,63}$/;

function str(values: OptionValues, name: string): string | undefined {
  const v = values[name];
  return v === undefined || v === '' ? undefined : String(v);
}

/**
 * The options of `params` checked against `specs` (unknown option or malformed value: `invalid`,
 * by name), converted, with defaults filled in; `location` and `passphrase` are left out. For the
 * options a connector adds to the common ones (the source's `refresh_metadata`).
 */
export function readS3Options(params: ConnectorParams, specs: readonly OptionSpec[]): OptionValues {
  const raw: Record<string, string> = {};
  for (const [k, v] of Object.entries(params.options)) raw[k] = String(v);
  return validateOptions(specs, raw, IGNORED);
}

/**
 * Checks `params.options` against `specs` (unknown option or malformed value: `invalid`, by name)
 * and builds the settings. Values may be raw strings or already converted. `profileRegion`: the
 * region of the profile in use (profile.ts), when neither `region=` nor an AWS endpoint says one.
 */
export function readS3Settings(
  params: ConnectorParams,
  specs: readonly OptionSpec[],
  profileRegion?: string,
): S3Settings {
  const values = readS3Options(params, specs);
  const location = parseS3Location(params.location, {
    useTls: values.use_tls !== false,
    virtualHost: values.virtual_host === true,
  });
  const accessKeyId = str(values, 'access_key');
  const secretAccessKey = str(values, 'secret_access_key');
  const sessionToken = str(values, 'session_token');
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw new ConnectorError(
      'invalid',
      'options access_key and secret_access_key go together: set both or neither',
    );
  }
  if (sessionToken !== undefined && accessKeyId === undefined) {
    throw new ConnectorError('invalid', 'option session_token needs access_key and secret_access_key');
  }
  const profile = str(values, 'profile');
  if (profile !== undefined && accessKeyId !== undefined) {
    throw new ConnectorError(
      'invalid',
      'options profile and access_key exclude each other: give one or the other',
    );
  }
  const storageClass = str(values, 'storage_class');
  if (storageClass !== undefined && !STORAGE_CLASS_PATTERN.test(storageClass)) {
    throw new ConnectorError(
      'invalid',
      `option storage_class: expected a storage class name such as STANDARD or STANDARD_IA, got ${JSON.stringify(storageClass)}`,
    );
  }
  const concurrency = typeof values.concurrency === 'number' ? values.concurrency : DEFAULT_CONCURRENCY;
  const retry = policyOfTimeout(typeof values.timeout === 'number' ? values.timeout : undefined);
  return {
    location,
    ...(accessKeyId !== undefined && secretAccessKey !== undefined
      ? { credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) } }
      : {}),
    ...(profile !== undefined ? { profile } : {}),
    region: str(values, 'region') ?? regionOfAwsHost(location.host) ?? profileRegion ?? 'us-east-1',
    tlsInsecureNoVerify: values.tls_insecure_no_verify === true,
    concurrency,
    ...(storageClass !== undefined ? { storageClass } : {}),
    timeouts: timeoutsOf(retry),
    retry,
  };
}

/** True when the endpoint is Amazon S3 itself (full flexible-checksum support). */
export function isAws(settings: S3Settings): boolean {
  return isAwsHost(settings.location.host);
}
