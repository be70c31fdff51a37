/**
 * Through the binary (bin/kloset.js, running dist/): names that are not UTF-8 and a path of over
 * 5,000 bytes are backed up from a directory into a local store and restored under the same
 * bytes; ls shows their escaped form (U+EF00 + byte, docs/FORMAT.md 8.2) and does not fail.
 */
import { Buffer } from 'node:buffer';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  longChain,
  readNativeTree,
  removeNativeTree,
  treeKey,
  writeNativeFile,
  writeNativeSymlink,
} from '../../connector-fs/test/native-tree.ts';
import { type CliHome, klosetIn, makeCliHome, ok } from './helpers/cli-home.ts';
import { jsonLines } from './helpers/run.ts';
import type { SpawnResult } from './helpers/spawn.ts';

let home: CliHome;
let k: (argv: readonly string[]) => Promise<SpawnResult>;

const latin1 = (s: string) => Buffer.from(s, 'latin1');
const CAFE = latin1('caf\xe9.txt');
const FF_FE = Buffer.of(0xff, 0xfe);
const ODD_DIR = latin1('r\xe9pertoire');
const CHAIN = longChain(25); // 25 directories of 200-byte names

beforeAll(async () => {
  home = await makeCliHome('odd-names');
  k = klosetIn(home, { KLOSET_PASSPHRASE: 'correct horse battery staple' });
});
afterAll(() => removeNativeTree(home.dir));

describe('odd file names through a local store', () => {
  let store: string;
  let data: string;

  beforeAll(async () => {
    store = join(home.dir, 'store');
    data = join(home.dir, 'tree');
    await mkdir(data);
    writeNativeFile(data, [], CAFE, 'latin-1 name\n');
    writeNativeFile(data, [], latin1('caf\xe8.txt'), 'differs in its invalid byte only\n');
    writeNativeFile(data, [], FF_FE, 'ff fe\n');
    writeNativeFile(data, [ODD_DIR], 'inside.txt', 'in a directory whose name is not UTF-8\n');
    writeNativeSymlink(data, [], latin1('lien-\xe0'), CAFE);
    writeNativeFile(data, CHAIN, 'bottom.txt', 'at the bottom of a 5,000-byte path\n');
    expect(Buffer.byteLength([data, ...CHAIN, 'bottom.txt'].join('/'))).toBeGreaterThan(5000);
  });

  it('backup keeps every entry, without errors', async () => {
    ok(await k(['at', store, 'create']));
    const r = ok(await k(['at', store, 'backup', '-json', data]));
    const { summary } = jsonLines(r.stdout)[0]!.snapshot as { summary: Record<string, number> };
    expect(summary).toMatchObject({ files: 5, symlinks: 1, directories: 2 + CHAIN.length, errors: 0 });
  });

  it('ls shows the escaped names and lists below them', async () => {
    const entries = jsonLines(ok(await k(['at', store, 'ls', '-json', '-recursive', 'latest'])).stdout);
    const paths = entries.map((e) => e.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/caf\uEFE9.txt',
        '/caf\uEFE8.txt',
        '/\uEFFF\uEFFE',
        '/r\uEFE9pertoire/inside.txt',
        `/${CHAIN.join('/')}/bottom.txt`,
      ]),
    );
    expect(entries.find((e) => e.path === '/lien-\uEFE0')).toMatchObject({ link: 'caf\uEFE9.txt' });
    const human = ok(await k(['at', store, 'ls', 'latest:/r\uEFE9pertoire'])).stdout;
    expect(human).toContain('/r\uEFE9pertoire/inside.txt');
    ok(await k(['at', store, 'ls', `latest:/${CHAIN.join('/')}`]));
  });

  it('restore gives back the same bytes: names, contents, link targets', async () => {
    const out = join(home.dir, 'restored');
    ok(await k(['at', store, 'restore', '-to', out, 'latest']));
    const restored = readNativeTree(out);
    expect(restored).toEqual(readNativeTree(data));
    expect(restored.get(treeKey(CAFE))).toEqual({ type: 'file', bytes: Buffer.from('latin-1 name\n') });
    expect(restored.get(treeKey(latin1('lien-\xe0')))).toEqual({ type: 'symlink', target: CAFE });
    expect(restored.get(treeKey(...CHAIN, 'bottom.txt'))).toEqual({
      type: 'file',
      bytes: Buffer.from('at the bottom of a 5,000-byte path\n'),
    });
  });

  it('a directory whose name is not UTF-8 restores alone, and check passes', async () => {
    const part = join(home.dir, 'restored-part');
    ok(await k(['at', store, 'restore', '-to', part, 'latest:/r\uEFE9pertoire']));
    expect([...readNativeTree(part).keys()]).toEqual(['inside.txt']);
    const file = join(home.dir, 'restored-file');
    ok(await k(['at', store, 'restore', '-to', file, 'latest:/caf\uEFE9.txt']));
    expect([...readNativeTree(file).keys()]).toEqual([treeKey(CAFE)]);
    ok(await k(['at', store, 'check']));
  });
});
