/** The pieces of package archives: tar, file names and versions, manifest.json, the packages directory. */
import { mkdir, readdir, readlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  archiveFileName,
  compareVersions,
  contractCompatible,
  nodeSatisfies,
  parseArchiveFileName,
} from '../src/pkg/compat.ts';
import {
  activate,
  installedDir,
  newPackageDir,
  readInstalled,
  removeInstalled,
  sweepOrphans,
} from '../src/pkg/layout.ts';
import { isPackageFilePath, parsePackageManifest } from '../src/pkg/package-manifest.ts';
import { readTar, tarStream } from '../src/pkg/tar.ts';
import { testDir } from './helpers/cli-home.ts';

async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of chunks) parts.push(c);
  return Buffer.concat(parts);
}

async function* pieces(b: Buffer, size: number): AsyncIterable<Buffer> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

const MANIFEST = {
  format: 1,
  name: 's3',
  version: '0.1.0',
  description: 'd',
  platform: 'linux_x64',
  contract: '0.1.0',
  node: '>=22.15',
  entry: 'index.js',
  connectors: [
    { role: 'source', protocols: ['s3'], options: [{ name: 'a', type: 'string', required: false }] },
  ],
  files: [{ path: 'index.js', size: 1, sha256: 'a'.repeat(64) }],
  source: { package: '@kloset/connector-s3', version: '0.1.0' },
};

describe('tar', () => {
  it('reads back what it writes, whatever the chunking; unread bodies are skipped', async () => {
    const dir = await testDir('tar');
    const files = [
      { name: 'manifest.json', body: Buffer.from('{"x":1}') },
      { name: 'index.js', body: Buffer.alloc(5000, 7) },
      { name: 'empty', body: Buffer.alloc(0) },
      { name: 'exact', body: Buffer.alloc(1024, 1) },
    ];
    for (const f of files) await writeFile(join(dir, f.name), f.body);
    const tar = await collect(
      tarStream(files.map((f) => ({ name: f.name, path: join(dir, f.name), size: f.body.length }))),
    );
    expect(tar.length % 512).toBe(0);
    for (const chunk of [1, 511, 512, 4096, tar.length]) {
      const got: [string, Buffer][] = [];
      for await (const e of readTar(pieces(tar, chunk))) got.push([e.name, await collect(e.body)]);
      expect(got).toEqual(files.map((f) => [f.name, f.body]));
      const names: string[] = [];
      for await (const e of readTar(pieces(tar, chunk))) names.push(e.name);
      expect(names).toEqual(files.map((f) => f.name));
    }
  });

  it('refuses a bad header checksum, a truncated archive, a missing end marker', async () => {
    const dir = await testDir('tar');
    await writeFile(join(dir, 'f'), 'hello');
    const tar = await collect(tarStream([{ name: 'f', path: join(dir, 'f'), size: 5 }]));
    const read = async (b: Buffer) => {
      for await (const e of readTar(pieces(b, 100))) await collect(e.body);
    };
    const bad = Buffer.from(tar);
    bad[0] = 'g'.charCodeAt(0);
    await expect(read(bad)).rejects.toThrow('header checksum mismatch');
    await expect(read(tar.subarray(0, 515))).rejects.toThrow('truncated body of "f"');
    await expect(read(tar.subarray(0, 1024))).rejects.toThrow('no end-of-archive marker');
    await expect(read(tar.subarray(0, 1100))).rejects.toThrow('truncated header');
    await expect(read(tar)).resolves.toBeUndefined();
  });
});

describe('archive names and versions', () => {
  it('NAME_vVERSION_PLATFORM.tgz both ways', () => {
    expect(archiveFileName('s3', '0.1.0', 'linux_x64')).toBe('s3_v0.1.0_linux_x64.tgz');
    expect(parseArchiveFileName('s3_v1.0.0-rc.1_darwin_arm64.tgz')).toEqual({
      name: 's3',
      version: '1.0.0-rc.1',
      platform: 'darwin_arm64',
    });
    for (const bad of [
      's3_1.0.0_linux_x64.tgz',
      's3_v1.0_linux_x64.tgz',
      'S3_v1.0.0_linux_x64.tgz',
      's3_v1.0.0.tgz',
    ])
      expect(parseArchiveFileName(bad)).toBeUndefined();
  });

  it('orders versions, prereleases first; contract and Node compatibility', () => {
    const sorted = ['1.0.0', '0.10.0', '0.2.0', '1.0.0-rc.1', '0.2.1'].sort(compareVersions);
    expect(sorted).toEqual(['0.2.0', '0.2.1', '0.10.0', '1.0.0-rc.1', '1.0.0']);
    expect(contractCompatible('0.1.0', '0.1.3')).toBe(true);
    expect(contractCompatible('0.1.4', '0.1.3')).toBe(false);
    expect(contractCompatible('0.1.0', '0.2.0')).toBe(false);
    expect(contractCompatible('1.1.0', '1.4.0')).toBe(true);
    expect(contractCompatible('1.0.0', '2.0.0')).toBe(false);
    expect(nodeSatisfies('>=22.15', '22.15.0')).toBe(true);
    expect(nodeSatisfies('>=22.15', '24.0.0')).toBe(true);
    expect(nodeSatisfies('>=22.15', '22.12.1')).toBe(false);
    expect(nodeSatisfies('^22', '24.0.0')).toBe(false);
  });
});

describe('manifest.json', () => {
  it('accepts a good one and names the first problem of a bad one', () => {
    expect(parsePackageManifest(MANIFEST).name).toBe('s3');
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ name: 'S3' }, /"name" is missing or malformed/],
      [{ version: 'one' }, /"version" is missing or malformed/],
      [{ entry: 'main.js' }, /the entry point main\.js is not among the files/],
      [{ files: [MANIFEST.files[0], MANIFEST.files[0]] }, /file index\.js is listed twice/],
      [{ files: [{ path: '../x.js', size: 1, sha256: 'a'.repeat(64) }] }, /"path" is missing or malformed/],
      [
        { files: [{ path: 'manifest.json', size: 1, sha256: 'a'.repeat(64) }] },
        /must not list manifest\.json/,
      ],
      [{ files: [{ path: 'index.js', size: -1, sha256: 'a'.repeat(64) }] }, /"size" must be a byte count/],
      [{ connectors: [] }, /the package has no connectors/],
      [{ connectors: [{ role: 'sink', protocols: ['s3'], options: [] }] }, /unknown connector role "sink"/],
      [{ connectors: [{ role: 'source', protocols: ['S3'], options: [] }] }, /"protocols" must be lowercase/],
      [{ node: '^22' }, /"node" is missing or malformed/],
    ];
    for (const [change, message] of cases) {
      expect(() => parsePackageManifest({ ...MANIFEST, ...change })).toThrow(message);
    }
  });

  it('file paths inside a package are plain and relative', () => {
    for (const ok of ['index.js', 'lib/a.js', 'a-b_c.1/d']) expect(isPackageFilePath(ok)).toBe(true);
    for (const bad of ['/abs', '../x', 'a/../b', './a', 'a//b', 'a/', '', 'a\\b', `${'x'.repeat(101)}`])
      expect(isPackageFilePath(bad)).toBe(false);
  });
});

describe('the packages directory', () => {
  async function makePackage(root: string, version: string): Promise<string> {
    const dir = await newPackageDir(root, 's3', version);
    await writeFile(join(dir, 'manifest.json'), JSON.stringify({ ...MANIFEST, version }));
    return dir;
  }

  it('activate swaps a symlink; the replaced version is removed; rm removes; orphans are swept', async () => {
    const root = await testDir('pkgs');
    const v1 = await makePackage(root, '0.1.0');
    expect(await readInstalled(root)).toEqual({ packages: [], failures: [] });
    expect(await activate(root, 's3', v1)).toBeUndefined();
    expect(await readlink(join(root, 's3'))).toBe(join('.store', v1.split('/').at(-1)!));
    const v2 = await makePackage(root, '0.2.0');
    expect(await activate(root, 's3', v2)).toBe(v1);
    expect(await readdir(join(root, '.store'))).toEqual([v2.split('/').at(-1)]);
    expect((await readInstalled(root)).packages.map((p) => [p.name, p.manifest.version, p.dir])).toEqual([
      ['s3', '0.2.0', v2],
    ]);

    const orphanNew = await makePackage(root, '0.3.0');
    const orphanOld = await makePackage(root, '0.4.0');
    await utimes(orphanOld, new Date(0), new Date(0));
    await sweepOrphans(root);
    expect((await readdir(join(root, '.store'))).sort()).toEqual(
      [v2, orphanNew].map((d) => d.split('/').at(-1)).sort(),
    );

    expect(await removeInstalled(root, 's3')).toBe(v2);
    expect(await installedDir(root, 's3')).toBeUndefined();
    expect(await removeInstalled(root, 's3')).toBeUndefined();
  });

  it('a plain directory copied in by hand is read, replaced and removed too; a broken one is a failure', async () => {
    const root = await testDir('pkgs');
    await mkdir(join(root, 's3'), { recursive: true });
    await writeFile(join(root, 's3', 'manifest.json'), JSON.stringify(MANIFEST));
    await mkdir(join(root, 'broken'));
    await writeFile(join(root, 'broken', 'manifest.json'), '{');
    const read = await readInstalled(root);
    expect(read.packages.map((p) => p.name)).toEqual(['s3']);
    expect(read.failures).toEqual([
      { name: 'broken', dir: join(root, 'broken'), error: expect.stringMatching(/^manifest\.json: /) },
    ]);
    const v2 = await makePackage(root, '0.2.0');
    expect(await activate(root, 's3', v2)).toBe(join(root, 's3'));
    expect(await installedDir(root, 's3')).toBe(v2);
    expect(await removeInstalled(root, 'broken')).toBe(join(root, 'broken'));
    expect(await readdir(root)).toEqual(['.store', 's3']);
  });
});
