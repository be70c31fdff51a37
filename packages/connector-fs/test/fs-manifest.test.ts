import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConnectorRegistry, validateOptions } from '@kloset/connector-contract';
import { FsDestination, FsSource, FsStorage, fsPathOf, manifest } from '@kloset/connector-fs';
import { describe, expect, it } from 'vitest';

describe('fs locations', () => {
  it('accepts plain paths, ~ and fs:/// URLs', () => {
    expect(fsPathOf('/var/backups')).toBe('/var/backups');
    expect(fsPathOf('/var/backups/')).toBe('/var/backups');
    expect(fsPathOf('rel/dir')).toBe(resolve('rel/dir'));
    expect(fsPathOf('~')).toBe(homedir());
    expect(fsPathOf('~/x')).toBe(join(homedir(), 'x'));
    expect(fsPathOf('fs:///srv/data')).toBe('/srv/data');
    expect(fsPathOf('fs://localhost/srv/data')).toBe('/srv/data');
    expect(fsPathOf('fs:///with%20space/caf%C3%A9')).toBe('/with space/café');
  });

  it('refuses other schemes, hosts and empty locations with invalid', () => {
    for (const bad of ['s3://bucket/x', 'fs://otherhost/x', '']) {
      expect(() => fsPathOf(bad), bad).toThrow(expect.objectContaining({ code: 'invalid' }));
    }
  });
});

describe('fs manifest', () => {
  it('registers a source, a storage and a destination for fs', async () => {
    const registry = new ConnectorRegistry();
    registry.register(manifest);
    expect(manifest.name).toBe('fs');
    const params = (role: 'source' | 'storage' | 'destination') => ({
      location: 'fs:///tmp/kloset-manifest-test',
      options: validateOptions(registry.resolve(role, '/tmp').options, {}),
    });
    const source = await registry.resolve('source', '/tmp/x').create(params('source'));
    const storage = await registry.resolve('storage', 'fs:///tmp/x').create(params('storage'));
    const destination = await registry.resolve('destination', './x').create(params('destination'));
    expect(source).toBeInstanceOf(FsSource);
    expect(source.info.root).toBe('/tmp/kloset-manifest-test');
    expect(storage).toBeInstanceOf(FsStorage);
    expect(storage.location).toBe('/tmp/kloset-manifest-test');
    expect(destination).toBeInstanceOf(FsDestination);
    expect(destination.concurrency).toBe(8);
  });

  it('the destination takes a concurrency option', async () => {
    const connector = manifest.connectors.find((c) => c.role === 'destination')!;
    const options = validateOptions(connector.options, { concurrency: '3' });
    const destination = await connector.create({ location: '/tmp/x', options });
    expect((destination as FsDestination).concurrency).toBe(3);
    expect(() => validateOptions(connector.options, { concurrency: '0' })).toThrow(/concurrency/);
  });
});
