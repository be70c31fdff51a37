import { isConnectorError } from '@kloset/connector-contract';
import { describe, expect, it } from 'vitest';
import {
  checkS3Location,
  formatS3Location,
  isAwsHost,
  parseS3Location,
  regionOfAwsHost,
} from '../src/location.ts';

const TLS = { useTls: true, virtualHost: false };

describe('parseS3Location', () => {
  it('parses endpoint and bucket, path-style, https by default', () => {
    expect(parseS3Location('s3://s3.eu-west-3.amazonaws.com/my-bucket', TLS)).toEqual({
      scheme: 'https',
      host: 's3.eu-west-3.amazonaws.com',
      endpoint: 'https://s3.eu-west-3.amazonaws.com',
      bucket: 'my-bucket',
      prefix: '',
      virtualHost: false,
    });
  });

  it('keeps the port, uses http without TLS, and the virtual_host choice', () => {
    const loc = parseS3Location('s3://127.0.0.1:7480/b12', { useTls: false, virtualHost: true });
    expect(loc.endpoint).toBe('http://127.0.0.1:7480');
    expect(loc.host).toBe('127.0.0.1:7480');
    expect(loc.virtualHost).toBe(true);
  });

  it('accepts IPv6 hosts and lowercases host names', () => {
    expect(parseS3Location('s3://[::1]:9000/bkt', TLS).host).toBe('[::1]:9000');
    expect(parseS3Location('s3://MinIO.Example.COM/bkt', TLS).host).toBe('minio.example.com');
  });

  it('treats the prefix as a folder, literally', () => {
    expect(parseS3Location('s3://h/bkt/photos', TLS).prefix).toBe('photos/');
    expect(parseS3Location('s3://h/bkt/photos/', TLS).prefix).toBe('photos/');
    expect(parseS3Location('s3://h/bkt/a/b/c', TLS).prefix).toBe('a/b/c/');
    expect(parseS3Location('s3://h/bkt/', TLS).prefix).toBe('');
    expect(parseS3Location('s3://h/bkt/a%20b', TLS).prefix).toBe('a%20b/');
    expect(parseS3Location('s3://h/bkt/x//', TLS).prefix).toBe('x//');
    expect(parseS3Location('s3://h/bkt/ünï code', TLS).prefix).toBe('ünï code/');
  });

  it('formats back to a canonical location', () => {
    expect(formatS3Location(parseS3Location('s3://H:1/bkt/p', TLS))).toBe('s3://h:1/bkt/p/');
    expect(formatS3Location(parseS3Location('s3://h/bkt', TLS))).toBe('s3://h/bkt');
  });

  it.each([
    ['not s3', '/var/backups'],
    ['another scheme', 'fs:///x/y'],
    ['no endpoint', 's3:///bucket'],
    ['no bucket', 's3://host'],
    ['empty bucket', 's3://host/'],
    ['bad bucket', 's3://host/Bad Bucket'],
    ['short bucket', 's3://host/a'],
    ['user info', 's3://user:pw@host/bucket'],
    ['bad port', 's3://host:99999/bucket'],
    ['long prefix', `s3://host/bucket/${'p'.repeat(1024)}`],
  ])('refuses %s with invalid, naming the location', (_what, location) => {
    let err: unknown;
    try {
      parseS3Location(location, TLS);
    } catch (e) {
      err = e;
    }
    expect(isConnectorError(err, 'invalid')).toBe(true);
    expect((err as Error).message).toContain(JSON.stringify(location));
    expect((err as Error).message).not.toContain('\n');
  });
});

describe('AWS endpoints', () => {
  it('recognises AWS hosts', () => {
    expect(isAwsHost('s3.amazonaws.com')).toBe(true);
    expect(isAwsHost('s3.eu-west-3.amazonaws.com:443')).toBe(true);
    expect(isAwsHost('s3.cn-north-1.amazonaws.com.cn')).toBe(true);
    expect(isAwsHost('127.0.0.1:7480')).toBe(false);
    expect(isAwsHost('notamazonaws.com')).toBe(false);
  });

  it('reads the region from the host name', () => {
    expect(regionOfAwsHost('s3.eu-west-3.amazonaws.com')).toBe('eu-west-3');
    expect(regionOfAwsHost('s3-us-west-2.amazonaws.com')).toBe('us-west-2');
    expect(regionOfAwsHost('s3.dualstack.ap-southeast-1.amazonaws.com')).toBe('ap-southeast-1');
    expect(regionOfAwsHost('s3.us-gov-west-1.amazonaws.com')).toBe('us-gov-west-1');
    expect(regionOfAwsHost('s3.cn-north-1.amazonaws.com.cn')).toBe('cn-north-1');
    expect(regionOfAwsHost('s3.amazonaws.com')).toBeUndefined();
    expect(regionOfAwsHost('minio.local:9000')).toBeUndefined();
  });
});

describe('checkS3Location', () => {
  it('refuses what parse refuses, naming the form; accepts the rest', () => {
    const why = (location: string): string => {
      try {
        checkS3Location(location);
        return 'accepted';
      } catch (err) {
        expect(isConnectorError(err, 'invalid')).toBe(true);
        return (err as Error).message;
      }
    };
    expect(why('s3://host')).toBe(
      'location "s3://host": the bucket is missing (expected s3://ENDPOINT/BUCKET[/PREFIX])',
    );
    expect(why('s3:///bkt')).toMatch(
      /the endpoint is missing \(expected s3:\/\/ENDPOINT\/BUCKET\[\/PREFIX\]\)$/,
    );
    expect(why('s3://host/x')).toMatch(/bad bucket name "x"/);
    expect(why('s3:/host/bkt')).toMatch(/not an s3:\/\/ location/);
    expect(why('s3://127.0.0.1:7480/bkt/some/prefix')).toBe('accepted');
  });
});
