import {
  ConnectorError,
  checkLocationSyntax,
  malformedLocation,
  protocolOf,
} from '@kloset/connector-contract';
import { describe, expect, it } from 'vitest';

describe('malformedLocation', () => {
  it('refuses a scheme without its // (protocolOf would take it for a local path)', () => {
    expect(protocolOf('s3:/host/b')).toBe('fs');
    expect(malformedLocation('s3:/host/b')).toBe(
      'location "s3:/host/b" is malformed: expected s3://... (did you mean "s3://host/b"? a local path with a colon: "./s3:/host/b")',
    );
    expect(malformedLocation('S3:host/b')).toMatch(
      /expected s3:\/\/\.\.\. \(did you mean "s3:\/\/host\/b"\?/,
    );
    expect(malformedLocation('gcs:/b')).toMatch(/expected gcs:\/\/\.\.\./);
    expect(() => checkLocationSyntax('s3:/host/b')).toThrow(ConnectorError);
  });

  it('leaves URLs, paths and drive letters alone', () => {
    for (const ok of [
      's3://host/b',
      'fs:///tmp/x',
      '/var/backups',
      './s3:/host/b',
      'rel/dir',
      'C:/x',
      '~/x',
    ]) {
      expect(malformedLocation(ok), ok).toBeUndefined();
      expect(() => checkLocationSyntax(ok)).not.toThrow();
    }
  });
});
