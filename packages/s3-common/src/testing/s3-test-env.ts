/**
 * The S3 test server for tests (Ceph RGW from tools/s3-server/start.sh): its address and keys are
 * read from the env file it writes, never from the machine's AWS_* variables. When the file is
 * missing or the server does not answer, tests fail with a line saying how to start it.
 */
import { readFileSync } from 'node:fs';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import type { ConnectorParams } from '@kloset/connector-contract';

/** Address and keys of the test server. */
export interface S3TestEnv {
  readonly endpoint: string;
  /** `127.0.0.1:7480`: the ENDPOINT part of an s3:// location. */
  readonly host: string;
  readonly useTls: boolean;
  readonly accessKey: string;
  readonly secretKey: string;
  readonly region: string;
}

const HINT = 'start it with tools/s3-server/start.sh (or run npm test, which does)';

/** Reads `$KLOSET_S3_ENV` (default /tmp/kloset-rgw/env). Throws when it is missing or incomplete. */
export function readS3TestEnv(file = process.env.KLOSET_S3_ENV || '/tmp/kloset-rgw/env'): S3TestEnv {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new Error(`S3 test server env file ${file} is missing: ${HINT}`);
  }
  const vars = new Map<string, string>();
  for (const m of text.matchAll(/^(?:export )?(\w+)=(.*)$/gm))
    vars.set(m[1]!, m[2]!.trim().replace(/^'(.*)'$/, '$1'));
  const get = (k: string): string => {
    const v = vars.get(k);
    if (!v) throw new Error(`S3 test server env file ${file} has no ${k}: ${HINT}`);
    return v;
  };
  const endpoint = get('S3_ENDPOINT');
  const url = new URL(endpoint);
  return {
    endpoint,
    host: url.host,
    useTls: url.protocol === 'https:',
    accessKey: get('AWS_ACCESS_KEY_ID'),
    secretKey: get('AWS_SECRET_ACCESS_KEY'),
    region: vars.get('AWS_REGION') ?? 'us-east-1',
  };
}

/** An independent S3 client (plain SDK, not kloset's layer) for seeding and verifying buckets. */
export function plainS3Client(env: S3TestEnv): S3Client {
  return new S3Client({
    endpoint: env.endpoint,
    region: env.region,
    forcePathStyle: true,
    credentials: { accessKeyId: env.accessKey, secretAccessKey: env.secretKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
  });
}

/** Fails with a clear line unless the test server answers. Call it in beforeAll. */
export async function requireS3(env: S3TestEnv): Promise<void> {
  const client = plainS3Client(env);
  try {
    await client.send(new ListBucketsCommand({}), { abortSignal: AbortSignal.timeout(10_000) });
  } catch (err) {
    throw new Error(`S3 test server ${env.endpoint} does not answer (${String(err)}): ${HINT}`);
  } finally {
    client.destroy();
  }
}

/** Location and options for a kloset connector on the test server (explicit keys, no TLS). */
export function s3TestParams(
  env: S3TestEnv,
  bucket: string,
  prefix = '',
  options: Readonly<Record<string, string | number | boolean>> = {},
): ConnectorParams {
  return {
    location: `s3://${env.host}/${bucket}${prefix ? `/${prefix}` : ''}`,
    options: {
      access_key: env.accessKey,
      secret_access_key: env.secretKey,
      region: env.region,
      use_tls: env.useTls,
      ...options,
    },
  };
}
