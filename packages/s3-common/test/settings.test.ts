import { DEFAULT_STORE_POLICY, isConnectorError, validateOptions } from '@kloset/connector-contract';
import { describe, expect, it } from 'vitest';
import { readS3Settings, S3_COMMON_OPTIONS, STORAGE_CLASS_OPTION } from '../src/index.ts';

const WRITER = [...S3_COMMON_OPTIONS, STORAGE_CLASS_OPTION];

function fails(fn: () => unknown, code: string, text: string): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(isConnectorError(err), String(err)).toBe(true);
  expect((err as { code: string }).code).toBe(code);
  expect((err as Error).message).toContain(text);
}

describe('S3 options', () => {
  it('lists the documented options with their defaults and secrets', () => {
    const byName = Object.fromEntries(WRITER.map((o) => [o.name, o]));
    expect(Object.keys(byName).sort()).toEqual(
      [
        'access_key',
        'concurrency',
        'profile',
        'region',
        'secret_access_key',
        'session_token',
        'storage_class',
        'timeout',
        'tls_insecure_no_verify',
        'use_tls',
        'virtual_host',
      ].sort(),
    );
    expect(byName.use_tls?.default).toBe('true');
    expect(byName.tls_insecure_no_verify?.default).toBe('false');
    expect(byName.secret_access_key?.secret).toBe(true);
    expect(byName.session_token?.secret).toBe(true);
    expect(byName.access_key?.secret).toBeFalsy();
    expect(validateOptions(S3_COMMON_OPTIONS, {})).toEqual({
      use_tls: true,
      tls_insecure_no_verify: false,
      virtual_host: false,
      concurrency: 32,
      timeout: 50,
    });
  });

  it('timeout= is the deadline of each operation; one attempt waits 0.3 of it, connects within 10 s', () => {
    const params = (options: Record<string, string>) => ({
      location: 's3://127.0.0.1:7480/bucket',
      options: { access_key: 'a', secret_access_key: 's', ...options },
    });
    const byDefault = readS3Settings(params({}), S3_COMMON_OPTIONS);
    expect(byDefault.retry).toEqual(DEFAULT_STORE_POLICY);
    expect(byDefault.timeouts).toEqual({ connectMs: 10_000, requestMs: 15_000, idleMs: 15_000 });
    const longer = readS3Settings(params({ timeout: '600' }), S3_COMMON_OPTIONS);
    expect(longer.retry).toMatchObject({ deadlineMs: 600_000, attemptTimeoutMs: 180_000, attempts: 6 });
    expect(longer.timeouts).toEqual({ connectMs: 10_000, requestMs: 180_000, idleMs: 180_000 });
    expect(readS3Settings(params({ timeout: '10' }), S3_COMMON_OPTIONS).timeouts.connectMs).toBe(3000);
    expect(() => readS3Settings(params({ timeout: '2' }), S3_COMMON_OPTIONS)).toThrow(/timeout/);
    expect(() => readS3Settings(params({ timeout: 'soon' }), S3_COMMON_OPTIONS)).toThrow(/timeout/);
  });

  it('builds settings from raw string options', () => {
    const s = readS3Settings(
      {
        location: 's3://127.0.0.1:7480/bkt/pre',
        options: {
          access_key: 'AK',
          secret_access_key: 'SK',
          use_tls: 'false',
          concurrency: '8',
          storage_class: 'STANDARD_IA',
          passphrase: 'ignored here',
        },
      },
      WRITER,
    );
    expect(s.location.endpoint).toBe('http://127.0.0.1:7480');
    expect(s.location.prefix).toBe('pre/');
    expect(s.credentials).toEqual({ accessKeyId: 'AK', secretAccessKey: 'SK' });
    expect(s.concurrency).toBe(8);
    expect(s.storageClass).toBe('STANDARD_IA');
    expect(s.region).toBe('us-east-1');
    expect(s.tlsInsecureNoVerify).toBe(false);
  });

  it('accepts already converted values, a session token, and takes the region from AWS hosts', () => {
    const s = readS3Settings(
      {
        location: 's3://s3.eu-west-3.amazonaws.com/bkt',
        options: {
          access_key: 'AK',
          secret_access_key: 'SK',
          session_token: 'TOK',
          tls_insecure_no_verify: true,
        },
      },
      S3_COMMON_OPTIONS,
    );
    expect(s.region).toBe('eu-west-3');
    expect(s.credentials?.sessionToken).toBe('TOK');
    expect(s.tlsInsecureNoVerify).toBe(true);
    expect(s.location.scheme).toBe('https');
    const r = readS3Settings(
      { location: 's3://s3.eu-west-3.amazonaws.com/bkt', options: { region: 'us-west-1' } },
      S3_COMMON_OPTIONS,
    );
    expect(r.region).toBe('us-west-1');
    expect(r.credentials).toBeUndefined();
  });

  it('refuses unknown options and malformed values by name', () => {
    const loc = 's3://h:1/bkt';
    fails(
      () => readS3Settings({ location: loc, options: { acces_key: 'x' } }, WRITER),
      'invalid',
      '"acces_key"',
    );
    fails(
      () => readS3Settings({ location: loc, options: { use_tls: 'maybe' } }, WRITER),
      'invalid',
      'use_tls',
    );
    fails(
      () => readS3Settings({ location: loc, options: { concurrency: '0' } }, WRITER),
      'invalid',
      'concurrency',
    );
    fails(
      () => readS3Settings({ location: loc, options: { concurrency: 'many' } }, WRITER),
      'invalid',
      'concurrency',
    );
    fails(
      () => readS3Settings({ location: loc, options: { storage_class: 'cold' } }, WRITER),
      'invalid',
      'storage_class',
    );
    fails(
      () => readS3Settings({ location: loc, options: { storage_class: 'GLACIER' } }, S3_COMMON_OPTIONS),
      'invalid',
      'storage_class',
    );
    fails(
      () => readS3Settings({ location: loc, options: { access_key: 'AK' } }, WRITER),
      'invalid',
      'secret_access_key',
    );
    fails(
      () => readS3Settings({ location: loc, options: { secret_access_key: 'SK' } }, WRITER),
      'invalid',
      'access_key',
    );
    fails(
      () => readS3Settings({ location: loc, options: { session_token: 'T' } }, WRITER),
      'invalid',
      'session_token',
    );
    fails(() => readS3Settings({ location: 's3://h', options: {} }, WRITER), 'invalid', 'bucket');
  });
});
