/** The s3 package manifest: three roles on s3://, the options of each connector, the package version. */
import { readFileSync } from 'node:fs';
import { validateOptions } from '@kloset/connector-contract';
import { describe, expect, it } from 'vitest';
import { manifest } from '../src/index.ts';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
  kloset: { package: string };
};

describe('the s3 package manifest', () => {
  it('is named as package.json says, with its version', () => {
    expect(manifest.name).toBe(pkg.kloset.package);
    expect(manifest.version).toBe(pkg.version);
  });

  it('has a source, a storage and a destination for s3://', () => {
    expect(manifest.connectors.map((c) => [c.role, c.protocols])).toEqual([
      ['source', ['s3']],
      ['storage', ['s3']],
      ['destination', ['s3']],
    ]);
  });

  it('takes the options of the seed documentation in every role', () => {
    const seed = {
      access_key: 'AK',
      secret_access_key: 'SK',
      use_tls: 'true',
      tls_insecure_no_verify: 'false',
    };
    for (const c of manifest.connectors) {
      expect(validateOptions(c.options, seed)).toMatchObject({
        use_tls: true,
        tls_insecure_no_verify: false,
      });
      expect(() => validateOptions(c.options, { colour: 'red' })).toThrow(/unknown option "colour"/);
    }
    const storageClass = (role: string) =>
      manifest.connectors.find((c) => c.role === role)!.options.some((o) => o.name === 'storage_class');
    expect([storageClass('source'), storageClass('storage'), storageClass('destination')]).toEqual([
      false,
      true,
      true,
    ]);
  });
});
