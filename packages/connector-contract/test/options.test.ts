import { ConnectorError, type OptionSpec, protocolOf, validateOptions } from '@kloset/connector-contract';
import { describe, expect, it } from 'vitest';

const specs: OptionSpec[] = [
  { name: 'access_key', type: 'string', required: true, description: 'key' },
  { name: 'use_tls', type: 'boolean', required: false, default: 'true', description: 'tls' },
  { name: 'concurrency', type: 'integer', required: false, min: 1, max: 256, description: 'c' },
  { name: 'storage_class', type: 'enum', required: false, values: ['STANDARD', 'GLACIER'], description: 's' },
];

describe('validateOptions', () => {
  it('converts values and fills defaults', () => {
    expect(validateOptions(specs, { access_key: 'AK', concurrency: '8' })).toEqual({
      access_key: 'AK',
      use_tls: true,
      concurrency: 8,
    });
  });
  it('refuses an unknown option by name', () => {
    expect(() => validateOptions(specs, { access_key: 'a', acces_key: 'b' })).toThrow(
      /unknown option "acces_key"/,
    );
  });
  it('refuses malformed values by name', () => {
    expect(() => validateOptions(specs, { access_key: 'a', use_tls: 'maybe' })).toThrow(/use_tls/);
    expect(() => validateOptions(specs, { access_key: 'a', concurrency: '0' })).toThrow(/concurrency/);
    expect(() => validateOptions(specs, { access_key: 'a', concurrency: '1.5' })).toThrow(/concurrency/);
    expect(() => validateOptions(specs, { access_key: 'a', storage_class: 'COLD' })).toThrow(/storage_class/);
  });
  it('refuses a missing required option', () => {
    const err = (() => {
      try {
        validateOptions(specs, {});
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConnectorError);
    expect((err as ConnectorError).code).toBe('invalid');
  });
  it('ignores keys handled by the caller', () => {
    expect(validateOptions(specs, { access_key: 'a', passphrase: 'x' }, ['passphrase'])).toHaveProperty(
      'access_key',
    );
  });
});

describe('protocolOf', () => {
  it('reads the scheme, or fs for plain paths', () => {
    expect(protocolOf('s3://host/bucket')).toBe('s3');
    expect(protocolOf('/var/backups')).toBe('fs');
    expect(protocolOf('fs:///tmp/x')).toBe('fs');
    expect(protocolOf('./relative')).toBe('fs');
  });
});
