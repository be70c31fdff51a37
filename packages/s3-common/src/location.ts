/**
 * Parsing of S3 locations: `s3://ENDPOINT/BUCKET[/PREFIX]`.
 *
 * - ENDPOINT is a host name or address with an optional port (`s3.eu-west-3.amazonaws.com`,
 *   `127.0.0.1:7480`, `[::1]:9000`). The scheme sent on the wire comes from the `use_tls` option.
 * - BUCKET is the bucket name. Requests are path-style (`https://ENDPOINT/BUCKET/KEY`) unless the
 *   `virtual_host` option asks for the bucket in the host name (`https://BUCKET.ENDPOINT/KEY`).
 * - PREFIX is taken literally (no percent-decoding): everything after `BUCKET/`. A prefix is a
 *   folder: `s3://h/b/photos` and `s3://h/b/photos/` both mean the keys under `photos/`.
 */
import { ConnectorError } from '@kloset/connector-contract';

/** A parsed S3 location. */
export interface S3Location {
  /** `https` or `http`, from `use_tls`. */
  readonly scheme: 'https' | 'http';
  /** Host and optional port, lowercased, as typed (`127.0.0.1:7480`). */
  readonly host: string;
  /** `scheme://host`, the endpoint given to the SDK. */
  readonly endpoint: string;
  readonly bucket: string;
  /** The key prefix: `''` for the whole bucket, otherwise ends with `/`. */
  readonly prefix: string;
  /** True when the bucket goes in the host name rather than in the path. */
  readonly virtualHost: boolean;
}

/** How the scheme and addressing style are chosen (from the `use_tls` / `virtual_host` options). */
export interface LocationOptions {
  readonly useTls: boolean;
  readonly virtualHost: boolean;
}

/** The form of an S3 location, as messages name it. */
export const S3_LOCATION_FORM = 's3://ENDPOINT/BUCKET[/PREFIX]';

const BUCKET_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]$/;
const MAX_KEY_BYTES = 1024;

function invalid(location: string, why: string): ConnectorError {
  return new ConnectorError(
    'invalid',
    `location ${JSON.stringify(location)}: ${why} (expected ${S3_LOCATION_FORM})`,
    {
      key: location,
    },
  );
}

/** Parses `s3://ENDPOINT/BUCKET[/PREFIX]`; fails with `invalid` naming what is wrong. */
export function parseS3Location(location: string, options: LocationOptions): S3Location {
  const m = /^s3:\/\/([^/]*)(?:\/([^/]*)(?:\/(.*))?)?$/is.exec(location);
  if (!m) throw invalid(location, 'not an s3:// location');
  const rawHost = m[1] ?? '';
  const bucket = m[2] ?? '';
  const rawPrefix = m[3] ?? '';
  if (rawHost === '') throw invalid(location, 'the endpoint is missing');
  if (/[@?#\s\\]/.test(rawHost)) throw invalid(location, `bad endpoint ${JSON.stringify(rawHost)}`);
  let host: string;
  try {
    const url = new URL(`http://${rawHost}`);
    host = url.port ? `${url.hostname}:${url.port}` : url.hostname;
  } catch {
    throw invalid(location, `bad endpoint ${JSON.stringify(rawHost)}`);
  }
  if (bucket === '') throw invalid(location, 'the bucket is missing');
  if (!BUCKET_PATTERN.test(bucket)) throw invalid(location, `bad bucket name ${JSON.stringify(bucket)}`);
  const prefix = rawPrefix === '' || rawPrefix.endsWith('/') ? rawPrefix : `${rawPrefix}/`;
  if (Buffer.byteLength(prefix, 'utf8') >= MAX_KEY_BYTES) {
    throw invalid(location, `the prefix is longer than ${MAX_KEY_BYTES - 1} bytes`);
  }
  const scheme = options.useTls ? 'https' : 'http';
  return { scheme, host, endpoint: `${scheme}://${host}`, bucket, prefix, virtualHost: options.virtualHost };
}

/**
 * Checks the form of an S3 location without any I/O (what `use_tls` and `virtual_host` choose does
 * not change it): a connector's `checkLocation`, so that `kloset source add` refuses `s3://HOST`
 * (no bucket) or a bad bucket name before saving. Throws ConnectorError `invalid`, as parse does.
 */
export function checkS3Location(location: string): void {
  parseS3Location(location, { useTls: true, virtualHost: false });
}

/** The location written back in canonical form (no secrets: locations never hold any). */
export function formatS3Location(loc: S3Location): string {
  return `s3://${loc.host}/${loc.bucket}${loc.prefix === '' ? '' : `/${loc.prefix}`}`;
}

const AWS_HOST = /(^|\.)amazonaws\.com(\.cn)?$/;

/** True for Amazon S3 endpoints (`*.amazonaws.com`, `*.amazonaws.com.cn`). */
export function isAwsHost(host: string): boolean {
  return AWS_HOST.test(host.replace(/:\d+$/, ''));
}

/**
 * The region named by an AWS endpoint (`s3.eu-west-3.amazonaws.com`, `s3-eu-west-3.amazonaws.com`,
 * `s3.dualstack.eu-west-3.amazonaws.com`), or undefined (`s3.amazonaws.com`, other servers).
 */
export function regionOfAwsHost(host: string): string | undefined {
  const m = /^s3[.-](?:dualstack\.)?([a-z]{2}(?:-gov)?-[a-z]+-\d+)\.amazonaws\.com(\.cn)?(:\d+)?$/.exec(host);
  return m?.[1];
}
