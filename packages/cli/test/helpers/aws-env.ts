/**
 * The AWS_* environment of a test of the binary, explicit: every variable the SDK reads for
 * credentials, region, profile and TLS set (empty when unused), so that the machine's decide
 * nothing. `set` gives those the test means.
 */
export function awsEnv(set: Readonly<Record<string, string>>): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: '',
    AWS_SECRET_ACCESS_KEY: '',
    AWS_SESSION_TOKEN: '',
    AWS_PROFILE: '',
    AWS_REGION: '',
    AWS_DEFAULT_REGION: '',
    AWS_CA_BUNDLE: '',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    ...set,
  };
}
