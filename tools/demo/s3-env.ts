/**
 * Reads the S3 test server's env file (written by tools/s3-server/start.sh) into an explicit
 * client configuration, so that no stray AWS_* variable of the machine decides anything.
 */
import { readFileSync } from 'node:fs';
import { S3Client } from '@aws-sdk/client-s3';

export interface S3Env {
  readonly endpoint: string;
  readonly accessKey: string;
  readonly secretKey: string;
  readonly region: string;
}

export function readS3Env(file = process.env.KLOSET_S3_ENV ?? '/tmp/kloset-rgw/env'): S3Env {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new Error(`S3 test server env file ${file} is missing: run tools/s3-server/start.sh`);
  }
  const vars = new Map<string, string>();
  for (const m of text.matchAll(/^export (\w+)=(.*)$/gm)) vars.set(m[1]!, m[2]!.trim());
  const get = (k: string): string => {
    const v = vars.get(k);
    if (!v) throw new Error(`${file} has no ${k}`);
    return v;
  };
  return {
    endpoint: get('S3_ENDPOINT'),
    accessKey: get('AWS_ACCESS_KEY_ID'),
    secretKey: get('AWS_SECRET_ACCESS_KEY'),
    region: vars.get('AWS_REGION') ?? 'us-east-1',
  };
}

/** An independent S3 client (not kloset's) for seeding and verifying buckets. */
export function plainClient(env: S3Env): S3Client {
  return new S3Client({
    endpoint: env.endpoint,
    region: env.region,
    forcePathStyle: true,
    credentials: { accessKeyId: env.accessKey, secretAccessKey: env.secretKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
