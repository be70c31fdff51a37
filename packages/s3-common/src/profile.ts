/**
 * `profile=NAME`, as the AWS CLI's --profile: credentials and region from a profile of the AWS
 * shared files (AWS_CONFIG_FILE, else ~/.aws/config; AWS_SHARED_CREDENTIALS_FILE, else
 * ~/.aws/credentials). Without explicit keys, AWS_PROFILE names the profile otherwise. A profile
 * found in neither file fails here, in one line naming it and the files, before any request (the
 * SDK's chain would try every other provider, instance metadata included, and end vaguely).
 */
import { join } from 'node:path';
import { ConnectorError, type ConnectorParams, type OptionSpec } from '@kloset/connector-contract';
import { getHomeDir, loadSharedConfigFiles } from '@smithy/core/config';
import { readS3Settings, type S3Settings } from './settings.ts';

/** The shared files the SDK reads, as it finds them. */
export interface SharedFiles {
  readonly config: string;
  readonly credentials: string;
}

type Env = Readonly<Record<string, string | undefined>>;

export function sharedFiles(env: Env = process.env): SharedFiles {
  return {
    config: env.AWS_CONFIG_FILE || join(getHomeDir(), '.aws', 'config'),
    credentials: env.AWS_SHARED_CREDENTIALS_FILE || join(getHomeDir(), '.aws', 'credentials'),
  };
}

/** The region of `profile` in the shared files, or undefined; ConnectorError when it is in neither. */
export async function profileRegion(
  profile: string,
  from: string,
  files: SharedFiles,
): Promise<string | undefined> {
  const { configFile, credentialsFile } = await loadSharedConfigFiles({
    filepath: files.credentials,
    configFilepath: files.config,
    ignoreCache: true,
  });
  const inConfig = configFile[profile];
  if (inConfig === undefined && credentialsFile[profile] === undefined) {
    throw new ConnectorError(
      'invalid',
      `AWS profile ${JSON.stringify(profile)} (${from}) not found in ${files.config} or ${files.credentials}`,
      { key: profile },
    );
  }
  const region = inConfig?.region ?? credentialsFile[profile]?.region;
  return region === undefined || region === '' ? undefined : region;
}

/**
 * The settings of `params` (readS3Settings), with the profile applied: `profile=NAME`, else
 * AWS_PROFILE, when no keys are given. Its region applies when neither `region=` nor an AWS
 * endpoint name says one.
 */
export async function resolveS3Settings(
  params: ConnectorParams,
  specs: readonly OptionSpec[],
  env: Env = process.env,
): Promise<S3Settings> {
  const settings = readS3Settings(params, specs);
  if (settings.credentials !== undefined) return settings;
  const fromEnv = env.AWS_PROFILE || undefined;
  const profile = settings.profile ?? fromEnv;
  if (profile === undefined) return settings;
  const files = sharedFiles(env);
  const region = await profileRegion(
    profile,
    settings.profile !== undefined ? 'profile=' : 'AWS_PROFILE',
    files,
  );
  const resolved = region === undefined ? settings : readS3Settings(params, specs, region);
  return { ...resolved, sharedFiles: files };
}
