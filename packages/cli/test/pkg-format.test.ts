/** The pieces of package archives: tar, file names and versions, manifest.json, the packages directory. */
import { mkdir, readdir, readFile, readlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { Header, type types } from 'tar';
import { describe, expect, it } from 'vitest';
import {
  archiveFileName,
  compareVersions,
  contractCompatible,
  nodeSatisfies,
  parseArchiveFileName,
} from '../src/pkg/compat.ts';
import { installArchive } from '../src/pkg/install.ts';
import {
  activate,
  installedDir,
  newPackageDir,
  readInstalled,
  removeInstalled,
  sweepOrphans,
} from '../src/pkg/layout.ts';
import { isPackageFilePath, parsePackageManifest } from '../src/pkg/package-manifest.ts';
import { readTar, TarError, writeTarGz } from '../src/pkg/tar.ts';
import { testDir } from './helpers/cli-home.ts';

async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of chunks) parts.push(c);
  return Buffer.concat(parts);
}

function pieces(b: Buffer, size: number): Readable {
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += size) out.push(b.subarray(i, i + size));
  return Readable.from(out);
}

/** The entries of a tar, names and bodies. */
async function entriesOf(tar: Readable): Promise<[string, Buffer][]> {
  const got: [string, Buffer][] = [];
  for await (const e of readTar(tar)) got.push([e.name, await collect(e.body)]);
  return got;
}

/** One 512-byte ustar header (tar's encoder), for archives tar.create would not write. */
function rawHeader(path: string, size: number, type: types.EntryTypeName = 'File'): Buffer {
  const h = Buffer.alloc(512);
  new Header({ path, mode: 0o644, uid: 0, gid: 0, size, mtime: new Date(0), type }).encode(h);
  return h;
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
  const files = [
    { name: 'manifest.json', body: Buffer.from('{"x":1}') },
    { name: 'index.js', body: Buffer.alloc(5000, 7) },
    { name: 'empty', body: Buffer.alloc(0) },
    { name: 'exact', body: Buffer.alloc(1024, 1) },
  ];

  async function written(): Promise<{ dir: string; tgz: Buffer }> {
    const dir = await testDir('tar');
    for (const f of files) await writeFile(join(dir, f.name), f.body, { mode: 0o644 });
    await writeTarGz(
      join(dir, 'out.tgz'),
      dir,
      files.map((f) => f.name),
    );
    return { dir, tgz: await readFile(join(dir, 'out.tgz')) };
  }

  it('reads back what it writes, in order, whatever the chunking; unread bodies are skipped', async () => {
    const { tgz } = await written();
    const tar = gunzipSync(tgz);
    expect(tar.length % 512).toBe(0);
    for (const chunk of [1, 511, 512, 4096, tar.length]) {
      expect(await entriesOf(pieces(tar, chunk))).toEqual(files.map((f) => [f.name, f.body]));
      const names: string[] = [];
      for await (const e of readTar(pieces(tar, chunk))) names.push(e.name);
      expect(names).toEqual(files.map((f) => f.name));
    }
    // Plain ustar headers: regular files, mode 0644, mtime 0, no owner.
    const h = new Header(tar.subarray(0, 512));
    expect([h.path, h.type, h.mode, h.mtime?.getTime(), h.uid ?? 0, h.uname ?? '']).toEqual([
      'manifest.json',
      'File',
      0o644,
      0,
      0,
      '',
    ]);
  });

  it('writes the same bytes for the same files, whatever their times', async () => {
    const { dir, tgz } = await written();
    for (const f of files) await utimes(join(dir, f.name), new Date(2e12), new Date(2e12));
    await writeTarGz(
      join(dir, 'again.tgz'),
      dir,
      files.map((f) => f.name),
    );
    expect(await readFile(join(dir, 'again.tgz'))).toEqual(tgz);
  });

  it('refuses a bad header checksum, a truncated archive, a missing end marker', async () => {
    const tar = gunzipSync((await written()).tgz);
    const read = (b: Buffer, chunk = 100) => entriesOf(pieces(b, chunk));
    const bad = Buffer.from(tar);
    bad[0] = 'g'.charCodeAt(0);
    await expect(read(bad)).rejects.toThrow(new TarError('checksum failure'));
    const body2 = 512 + 512 + 512; // manifest.json, its body, the header of index.js
    await expect(read(tar.subarray(0, body2 + 100))).rejects.toThrow(/^Truncated input \(needed \d+ more/);
    const end = tar.length - 1024;
    // (cut in 100-byte pieces, tar reports the last body truncated: it consumes whole blocks only)
    await expect(read(tar.subarray(0, end), end)).rejects.toThrow(new TarError('no end-of-archive marker'));
    await expect(read(tar.subarray(0, end + 100))).rejects.toThrow('no end-of-archive marker');
    await expect(read(tar)).resolves.toHaveLength(files.length);
  });

  it('hands out links and directories with their type; refuses types tar would skip', async () => {
    const link = Buffer.alloc(512);
    new Header({ path: 'l', size: 0, type: 'SymbolicLink', linkpath: '/etc/passwd', mode: 0o777 }).encode(
      link,
    );
    const types: string[] = [];
    for await (const e of readTar(Readable.from([link, rawHeader('d/', 0, 'Directory'), Buffer.alloc(1024)])))
      types.push(`${e.name} ${e.type}`);
    expect(types).toEqual(['l SymbolicLink', 'd/ Directory']);
    const sparse = Buffer.concat([rawHeader('f', 0, 'SparseFile'), Buffer.alloc(1024)]);
    await expect(entriesOf(Readable.from([sparse]))).rejects.toThrow(
      new TarError('entry "f" of type SparseFile is not a regular file'),
    );
  });

  it('installs an archive written by the hand-made ustar writer kloset had before (format 1)', async () => {
    const root = await testDir('pkgs');
    const fixture = fileURLToPath(new URL('./fixtures/memfix_v1.0.0_linux_x64.tgz', import.meta.url));
    const r = await installArchive(fixture, root);
    expect([r.manifest.name, r.manifest.version]).toEqual(['memfix', '1.0.0']);
    const original = new URL('./fixtures/mem-connector/index.js', import.meta.url);
    expect(await readFile(join(r.dir, 'index.js'))).toEqual(await readFile(original));
    expect((await readInstalled(root)).packages.map((p) => p.name)).toEqual(['memfix']);
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
