/**
 * Where the data-plane requests of a bucket go and how they are signed, as the AWS SDK's endpoint
 * rules resolve it (path-style or virtual-host addressing, AWS regional endpoints, the signing
 * region), so that the transport and the SDK's control-plane calls address the bucket alike.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { ConnectorError } from '@kloset/connector-contract';
import type { S3Settings } from './settings.ts';

/** The resolved endpoint of one bucket. */
export interface S3Target {
  /** `http://host:port` or `https://host[:port]`: the connection pool's origin. */
  readonly origin: string;
  /** `host[:port]`, the signed Host header. */
  readonly host: string;
  /** `/bucket` (path-style) or `` (virtual host). */
  readonly basePath: string;
  readonly region: string;
}

/**
 * Resolves the endpoint of the settings' bucket with `client`'s endpoint rules. An endpoint that
 * wants another auth scheme than SigV4 for S3 (S3 Express directory buckets) is refused in one line.
 */
export async function resolveTarget(client: S3Client, settings: S3Settings): Promise<S3Target> {
  const config = client.config;
  const { location } = settings;
  const endpoint = config.endpointProvider({
    Bucket: location.bucket,
    Region: await config.region(),
    Endpoint: location.endpoint,
    ForcePathStyle: config.forcePathStyle === true,
    UseFIPS: false,
    UseDualStack: false,
    Accelerate: false,
  });
  const url = endpoint.url;
  const schemes = endpoint.properties?.authSchemes;
  const scheme = Array.isArray(schemes) ? (schemes[0] as Record<string, unknown> | undefined) : undefined;
  if (scheme !== undefined && !(scheme.name === 'sigv4' && scheme.signingName === 's3')) {
    throw new ConnectorError(
      'invalid',
      `bucket ${JSON.stringify(location.bucket)} at ${location.endpoint} needs the ${String(scheme.name)} auth scheme (an S3 Express directory bucket?): not supported`,
      { op: 'connect', container: location.bucket, endpoint: location.endpoint },
    );
  }
  const signingRegion = scheme?.signingRegion;
  return {
    origin: url.origin,
    host: url.host,
    basePath: url.pathname.replace(/\/+$/, ''),
    region: typeof signingRegion === 'string' ? signingRegion : settings.region,
  };
}
