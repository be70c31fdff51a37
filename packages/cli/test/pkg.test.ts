/**
 * kloset pkg build / add / list / rm through the built binary: the archive layout, installing from
 * an archive, by name from KLOSET_PKG_PATH or from the workspace source, offline; named
 * configurations kept across rm + add; and every bad input refused in one line.
 */
import { cp, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { readInstalled } from '../src/pkg/layout.ts';
import {
  type ArchiveEntry,
  manifestOf,
  readArchive,
  sha256,
  withManifest,
  writeArchive,
} from './helpers/archives.ts';
import { type CliHome, failsInOneLine, klosetIn, makeCliHome, ok, removeDir } from './helpers/cli-home.ts';
import { jsonLines } from './helpers/run.ts';

const S3_PKG = JSON.parse(
  await readFile(new URL('../../connector-s3/package.json', import.meta.url), 'utf8'),
) as { version: string };
const PLATFORM = `${process.platform}_${process.arch}`;
const ARCHIVE = `s3_v${S3_PKG.version}_${PLATFORM}.tgz`;
const NO_NETWORK = fileURLToPath(new URL('./fixtures/no-network.mjs', import.meta.url));

let home: CliHome;
let k: ReturnType<typeof klosetIn>;
let built: Record<string, unknown>;
let entries: ArchiveEntry[];

beforeAll(async () => {
  home = await makeCliHome('pkg');
  k = klosetIn(home);
  built = jsonLines(ok(await k(['pkg', 'build', 's3', '-json'])).stdout)[0]!;
  entries = await readArchive(join(home.work, ARCHIVE));
});
afterAll(() => removeDir(home?.dir));

describe('pkg build s3', () => {
  it('writes NAME_vVERSION_PLATFORM.tgz into the current directory', async () => {
    const path = join(home.work, ARCHIVE);
    const bytes = await readFile(path);
    expect(built).toMatchObject({ name: 's3', version: S3_PKG.version, platform: PLATFORM, archive: path });
    expect(built.size).toBe(bytes.length);
    expect(built.sha256).toBe(sha256(bytes));
    expect(await readdir(home.work)).toEqual([ARCHIVE]);
  });

  it('holds manifest.json (first) and one self-contained ESM bundle', () => {
    expect(entries.map((e) => e.name)).toEqual(['manifest.json', 'index.js']);
    const m = manifestOf(entries);
    const index = entries[1]!.body;
    expect(m).toMatchObject({
      format: 1,
      name: 's3',
      version: S3_PKG.version,
      platform: PLATFORM,
      contract: '0.1.0',
      node: '>=22.15',
      entry: 'index.js',
      files: [{ path: 'index.js', size: index.length, sha256: sha256(index) }],
      source: { package: '@kloset/connector-s3', version: S3_PKG.version },
    });
    const connectors = m.connectors as { role: string; protocols: string[]; options: { name: string }[] }[];
    expect(connectors.map((c) => [c.role, c.protocols])).toEqual([
      ['source', ['s3']],
      ['storage', ['s3']],
      ['destination', ['s3']],
    ]);
    for (const c of connectors) {
      expect(c.options.map((o) => o.name)).toEqual(
        expect.arrayContaining(['access_key', 'secret_access_key', 'use_tls', 'tls_insecure_no_verify']),
      );
    }
    // Everything but Node built-ins and the contract (provided by the CLI) is inside.
    const imports = [...index.toString('utf8').matchAll(/^import .*? from "([^"]+)";$/gm)].map((x) => x[1]);
    expect(imports.length).toBeGreaterThan(0);
    for (const spec of imports) expect(spec).toMatch(/^(node:[a-z_/]+|@kloset\/connector-contract)$/);
    expect(index.toString('utf8')).toMatch(/\bclass extends Client\b|\bS3Client = class\b/);
  });

  it('is reproducible: the same source gives the same bytes', async () => {
    const out = join(home.dir, 'second-build');
    await mkdir(out);
    const again = jsonLines(ok(await k(['pkg', 'build', '-json', '-out', out, 's3'])).stdout)[0]!;
    expect(again.archive).toBe(join(out, ARCHIVE));
    expect(again.sha256).toBe(built.sha256);
  });

  it('refuses an unknown name and a directory that is no package source, in one line', async () => {
    expect(failsInOneLine(await k(['pkg', 'build', 'nope']))).toMatch(
      /^kloset: pkg build nope: no package source named "nope": the workspace \S+ has s3 /,
    );
    expect(failsInOneLine(await k(['pkg', 'build', home.work]))).toMatch(
      /pkg build \S+: \S+: no readable package\.json$/,
    );
  });
});

describe('pkg add, list, rm', () => {
  it('pkg add ./ARCHIVE installs it; pkg list shows it', async () => {
    const r = jsonLines(ok(await k(['pkg', 'add', '-json', `./${ARCHIVE}`])).stdout)[0]!;
    expect(r).toMatchObject({
      name: 's3',
      version: S3_PKG.version,
      platform: PLATFORM,
      roles: ['source', 'storage', 'destination'],
      protocols: ['s3'],
      from: { kind: 'archive', path: join(home.work, ARCHIVE) },
      replaced: null,
    });
    const list = await k(['pkg', 'list']);
    expect(ok(list).stdout).toBe(
      [
        'NAME  VERSION  PLATFORM   ROLES                       PROTOCOLS',
        'fs    0.1.0    built in   source,storage,destination  fs',
        `s3    ${S3_PKG.version.padEnd(7)}  ${PLATFORM.padEnd(9)}  source,storage,destination  s3`,
        '',
      ].join('\n'),
    );
    const json = jsonLines(ok(await k(['pkg', 'list', '-json'])).stdout);
    expect(json.map((p) => [p.name, p.builtin, p.roles, p.protocols])).toEqual([
      ['fs', true, ['source', 'storage', 'destination'], ['fs']],
      ['s3', false, ['source', 'storage', 'destination'], ['s3']],
    ]);
    const installed = await readInstalled(home.packages);
    expect(installed.packages.map((p) => [p.name, p.manifest.version])).toEqual([['s3', S3_PKG.version]]);
    expect(json[1]!.dir).toBe(installed.packages[0]!.dir);
    expect(await readFile(join(installed.packages[0]!.dir, 'index.js'))).toEqual(entries[1]!.body);
  });

  it('keeps named configurations across pkg rm + pkg add; meanwhile a location says which package to add', async () => {
    const creds = ['access_key=AK', 'secret_access_key=SK', 'use_tls=true'];
    ok(
      await k([
        'source',
        'add',
        'my-s3-bucket',
        'location=s3://s3.example.com/bkt1',
        ...creds,
        'passphrase=pw',
      ]),
    );
    ok(await k(['store', 'add', 'my-s3-store', 'location=s3://s3.example.com/bkt2', ...creds]));
    ok(await k(['destination', 'add', 'my-s3-restore', 'location=s3://s3.example.com/bkt3', ...creds]));
    const before = await readFile(home.config, 'utf8');

    const rm = jsonLines(ok(await k(['pkg', 'rm', '-json', 's3'])).stdout)[0]!;
    expect(rm).toEqual({
      name: 's3',
      version: S3_PKG.version,
      removed: true,
      kept_configurations: ['source @my-s3-bucket', 'store @my-s3-store', 'destination @my-s3-restore'],
    });
    expect(await readFile(home.config, 'utf8')).toBe(before);
    expect(await readdir(home.packages)).toEqual(['.store']);
    expect(await readdir(join(home.packages, '.store'))).toEqual([]);
    expect(failsInOneLine(await k(['at', '@my-s3-store', 'ls']))).toBe(
      'kloset: no storage connector for s3:// locations is installed: add it with "kloset pkg add s3"',
    );
    expect(failsInOneLine(await k(['backup', '@my-s3-bucket']))).toMatch(/add it with "kloset pkg add s3"$/);
    expect(ok(await k(['source', 'ls'])).stdout).toBe('my-s3-bucket  s3://s3.example.com/bkt1\n');

    const add = jsonLines(ok(await k(['pkg', 'add', '-json', 's3'])).stdout)[0]!;
    expect(add.from).toEqual({
      kind: 'source',
      path: fileURLToPath(new URL('../../connector-s3', import.meta.url)),
    });
    expect(await readFile(home.config, 'utf8')).toBe(before);
    expect(ok(await k(['source', 'show', 'my-s3-bucket'])).stdout).toBe(
      'my-s3-bucket:\n    location=s3://s3.example.com/bkt1\n    access_key=AK\n    secret_access_key=********\n' +
        '    use_tls=true\n    passphrase=********\n',
    );
    ok(await k(['store', 'set', 'my-s3-store', 'region=eu-west-3']));
  });

  it('pkg add NAME takes the newest archive for this platform from KLOSET_PKG_PATH first', async () => {
    const dirA = join(home.dir, 'archives-a');
    const dirB = join(home.dir, 'archives-b');
    await mkdir(dirA);
    await mkdir(dirB);
    await writeFile(join(dirA, `s3_v0.0.1_${PLATFORM}.tgz`), 'older: never read');
    await cp(join(home.work, ARCHIVE), join(dirB, ARCHIVE));
    await writeFile(join(dirB, 's3_v9.9.9_plan9_mips.tgz'), 'other platform: never read');
    const r = await k(['pkg', 'add', '-json', 's3'], { KLOSET_PKG_PATH: `${dirA}:${dirB}` });
    expect(jsonLines(ok(r).stdout)[0]).toMatchObject({
      from: { kind: 'archive', path: join(dirB, ARCHIVE) },
      replaced: S3_PKG.version,
    });
    expect((await readdir(join(home.packages, '.store'))).length).toBe(1);
  });

  it('refuses unknown packages and the built-in fs, in one line', async () => {
    expect(failsInOneLine(await k(['pkg', 'add', 'nope']))).toMatch(
      /^kloset: pkg add nope: no package named "nope": looked in no archive directory \(KLOSET_PKG_PATH is unset\) and the workspace \S+ \(packages: s3\)$/,
    );
    expect(failsInOneLine(await k(['pkg', 'rm', 'nope']))).toBe(
      'kloset: pkg rm nope: no package "nope" is installed (installed: s3)',
    );
    expect(failsInOneLine(await k(['pkg', 'rm', 'fs']))).toBe(
      'kloset: pkg rm fs: fs is built in and cannot be removed',
    );
    expect(failsInOneLine(await k(['pkg', 'add', 'fs']))).toBe('kloset: pkg add fs: fs is built in');
    expect(failsInOneLine(await k(['pkg', 'add']), 2)).toMatch(/pkg add: missing NAME\|ARCHIVE/);
  });
});

describe('offline', () => {
  it('the whole pkg round trip works with the network cut off', async () => {
    const off = await makeCliHome('pkg-offline');
    onTestFinished(() => removeDir(off.dir));
    const run = klosetIn(off, { NODE_OPTIONS: `--import=${NO_NETWORK}` });
    ok(await run(['pkg', 'build', 's3']));
    ok(await run(['pkg', 'add', `./${ARCHIVE}`]));
    ok(await run(['source', 'add', 'b', 's3://127.0.0.1:9/bucket', 'use_tls=false']));
    expect(ok(await run(['pkg', 'list'])).stdout).toMatch(/\ns3 /);
    ok(await run(['pkg', 'rm', 's3']));
    ok(await run(['pkg', 'add', 's3']));
    expect(jsonLines(ok(await run(['pkg', 'list', '-json'])).stdout).map((p) => p.name)).toEqual([
      'fs',
      's3',
    ]);
    // The cut is real: a command that does need the network fails because of it.
    expect(failsInOneLine(await run(['source', 'ping', 'b']))).toContain(
      'network access attempted while offline',
    );
  });
});

describe('bad archives are refused in one line and install nothing', () => {
  let bad: CliHome;
  let kb: ReturnType<typeof klosetIn>;
  const name = (s: string) => join(bad.work, s);

  beforeAll(async () => {
    bad = await makeCliHome('pkg-bad');
    kb = klosetIn(bad);
  });
  afterAll(() => removeDir(bad?.dir));

  async function refused(archive: string, message: RegExp): Promise<void> {
    const line = failsInOneLine(await kb(['pkg', 'add', archive]));
    expect(line).toMatch(message);
    const installed = await readInstalled(bad.packages);
    expect(installed).toEqual({ packages: [], failures: [] });
    const store = await readdir(join(bad.packages, '.store')).catch(() => []);
    expect(store).toEqual([]);
  }

  const m = () => manifestOf(entries);
  const index = () => entries[1]!;

  it('a missing file, a directory', async () => {
    await refused('./missing.tgz', /^kloset: pkg add \.\/missing\.tgz: no such file$/);
    await refused(bad.work, /: not a file$/);
  });

  it('bytes that are not gzip, a truncated archive, a flipped byte', async () => {
    const good = await readFile(join(home.work, ARCHIVE));
    await writeFile(name('garbage.tgz'), 'this is not an archive\n');
    await refused(
      './garbage.tgz',
      /^kloset: pkg add \.\/garbage\.tgz: corrupt archive: gzip: incorrect header check$/,
    );
    await writeFile(name('truncated.tgz'), good.subarray(0, good.length >> 1));
    await refused('./truncated.tgz', /: corrupt archive: gzip: unexpected end of file$/);
    // Good gzip, cut tar: the body of index.js ends early, or the end-of-archive blocks are missing.
    const tar = gunzipSync(good);
    for (const cut of [1000, tar.length - 2048]) {
      await writeFile(name('cut.tgz'), gzipSync(tar.subarray(0, cut)));
      await refused('./cut.tgz', /: corrupt archive: tar: Truncated input \(needed \d+ more bytes, only \d+/);
    }
    await writeFile(name('noend.tgz'), gzipSync(tar.subarray(0, tar.length - 1024)));
    await refused('./noend.tgz', /: corrupt archive: tar: no end-of-archive marker$/);
    const flipped = Buffer.from(good);
    flipped[flipped.length >> 1]! ^= 0xff;
    await writeFile(name('flipped.tgz'), flipped);
    // Depending on where the flip lands: inflate fails, the tar structure breaks, or a digest differs.
    await refused(
      './flipped.tgz',
      /: (corrupt archive: (gzip|tar): .+|index\.js: SHA-256 differs from manifest\.json)$/,
    );
  });

  it('a file whose content differs from manifest.json, a missing one, an extra one', async () => {
    const changed = Buffer.from(index().body);
    changed[100]! ^= 0x01;
    await writeArchive(name('changed.tgz'), [entries[0]!, { name: 'index.js', body: changed }]);
    await refused('./changed.tgz', /: index\.js: SHA-256 differs from manifest\.json$/);
    const longer = Buffer.concat([index().body, Buffer.from('x')]);
    await writeArchive(name('longer.tgz'), [entries[0]!, { name: 'index.js', body: longer }]);
    await refused(
      './longer.tgz',
      new RegExp(`: index\\.js: ${longer.length} bytes, manifest\\.json says ${longer.length - 1}$`),
    );
    await writeArchive(name('short.tgz'), [entries[0]!]);
    await refused('./short.tgz', /: index\.js is listed in manifest\.json but missing$/);
    await writeArchive(name('extra.tgz'), [...entries, { name: 'extra.js', body: Buffer.from('x') }]);
    await refused('./extra.tgz', /: extra\.js is not listed in manifest\.json$/);
    await writeArchive(name('twice.tgz'), [...entries, index()]);
    await refused('./twice.tgz', /: index\.js appears twice$/);
  });

  it('entries that escape the package or are not regular files', async () => {
    await writeArchive(name('escape.tgz'), [...entries, { name: '../evil.js', body: Buffer.from('x') }]);
    await refused('./escape.tgz', /: entry name "\.\.\/evil\.js" is not allowed$/);
    await writeArchive(name('absolute.tgz'), [...entries, { name: '/etc/evil', body: Buffer.from('x') }]);
    await refused('./absolute.tgz', /: entry name "\/etc\/evil" is not allowed$/);
    const notFiles: ArchiveEntry[] = [
      { name: 'index.js', body: Buffer.alloc(0), type: 'SymbolicLink', linkpath: '/etc/passwd' },
      { name: 'index.js', body: Buffer.alloc(0), type: 'Link', linkpath: 'manifest.json' },
      { name: 'index.js', body: Buffer.alloc(0), type: 'CharacterDevice' },
      { name: 'index.js', body: Buffer.alloc(0), type: 'Directory' },
    ];
    for (const e of notFiles) {
      await writeArchive(name('link.tgz'), [entries[0]!, e]);
      await refused('./link.tgz', /: entry "index\.js" is not a regular file$/);
    }
    await writeArchive(name('link-manifest.tgz'), [
      { name: 'manifest.json', body: Buffer.alloc(0), type: 'SymbolicLink', linkpath: '/etc/passwd' },
      index(),
    ]);
    await refused('./link-manifest.tgz', /: entry "manifest\.json" is not a regular file$/);
  });

  it('a manifest that is missing, not first, malformed, or for another platform or contract', async () => {
    await writeArchive(name('nomanifest.tgz'), [index()]);
    await refused('./nomanifest.tgz', /: not a kloset package: manifest\.json is not its first entry$/);
    await writeArchive(name('order.tgz'), [index(), entries[0]!]);
    await refused('./order.tgz', /: not a kloset package: manifest\.json is not its first entry$/);
    await writeArchive(name('json.tgz'), [
      { name: 'manifest.json', body: Buffer.from('{"format": 1,') },
      index(),
    ]);
    await refused('./json.tgz', /: manifest\.json is not valid JSON \(/);
    await writeArchive(name('format.tgz'), withManifest(entries, { ...m(), format: 2 }));
    await refused('./format.tgz', /: unsupported package format 2 \(this kloset reads 1\)$/);
    await writeArchive(name('platform.tgz'), withManifest(entries, { ...m(), platform: 'plan9_mips' }));
    await refused(
      './platform.tgz',
      new RegExp(`: package s3 v\\S+ is built for plan9_mips, this machine is ${PLATFORM}$`),
    );
    await writeArchive(name('contract.tgz'), withManifest(entries, { ...m(), contract: '1.0.0' }));
    await refused(
      './contract.tgz',
      /: package s3 v\S+ is built for connector contract 1\.0\.0, this kloset provides 0\.1\.0$/,
    );
    await writeArchive(name('builtin.tgz'), withManifest(entries, { ...m(), name: 'fs' }));
    await refused('./builtin.tgz', /: fs is built in: no package replaces it$/);
  });

  it('code that does not match its manifest', async () => {
    await writeArchive(name('renamed.tgz'), withManifest(entries, { ...m(), name: 's4' }));
    await refused('./renamed.tgz', /: index\.js exports s3 v\S+, manifest\.json says s4 v\S+$/);
    const code = Buffer.from('export const nothing = 1;\n');
    const files = [{ path: 'index.js', size: code.length, sha256: sha256(code) }];
    await writeArchive(name('nocode.tgz'), [
      { name: 'manifest.json', body: Buffer.from(JSON.stringify({ ...m(), files })) },
      { name: 'index.js', body: code },
    ]);
    await refused('./nocode.tgz', /: index\.js does not export a connector manifest$/);
    const broken = Buffer.from('export const manifest = ;\n');
    const brokenFiles = [{ path: 'index.js', size: broken.length, sha256: sha256(broken) }];
    await writeArchive(name('syntax.tgz'), [
      { name: 'manifest.json', body: Buffer.from(JSON.stringify({ ...m(), files: brokenFiles })) },
      { name: 'index.js', body: broken },
    ]);
    await refused('./syntax.tgz', /: cannot load index\.js: /);
  });

  it('a failed add leaves the installed version in place', async () => {
    ok(await kb(['pkg', 'add', join(home.work, ARCHIVE)]));
    const before = await readInstalled(bad.packages);
    const changed = Buffer.from(index().body);
    changed[200]! ^= 0x01;
    await writeArchive(name('changed-2.tgz'), [entries[0]!, { name: 'index.js', body: changed }]);
    const line = failsInOneLine(await kb(['pkg', 'add', './changed-2.tgz']));
    expect(line).toMatch(/SHA-256 differs/);
    expect(await readInstalled(bad.packages)).toEqual(before);
    expect((await stat(join(before.packages[0]!.dir, 'index.js'))).size).toBe(index().body.length);
    expect(await readdir(join(bad.packages, '.store'))).toHaveLength(1);
  });
});
