/**
 * Installed connector packages load once, whoever asks first: two lookups made at the same time
 * (backup resolves its store and its source together) both find the package.
 */
import { cp, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Connectors } from '../src/connectors/connectors.ts';
import { removeDir } from './helpers/cli-home.ts';

let dir: string | undefined;
let packages: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kloset-connectors-'));
  packages = join(dir, 'packages');
  await cp(new URL('./fixtures/mem-connector', import.meta.url), join(packages, 'memfix'), {
    recursive: true,
  });
});
afterAll(() => removeDir(dir));

describe('Connectors', () => {
  it('two concurrent lookups of an installed protocol both find it', async () => {
    const connectors = new Connectors(packages, []);
    const found = await Promise.all([
      connectors.resolve('storage', 'memfix://a'),
      connectors.resolve('storage', 'memfix://b'),
    ]);
    expect(found.map((c) => typeof c.create)).toEqual(['function', 'function']);
  });

  it('loads the packages once for every caller', async () => {
    const connectors = new Connectors(packages, []);
    const [a, b] = [connectors.loadInstalled(), connectors.loadInstalled()];
    expect(a).toBe(b);
    expect(await a).toEqual([]);
    expect(connectors.registry.manifests().map((m) => m.name)).toEqual(['memfix']);
  });
});
