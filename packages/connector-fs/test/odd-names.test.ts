/**
 * Names that are not UTF-8 and paths longer than PATH_MAX: scanned by FsSource, written back by
 * FsDestination under the same bytes, compared with a reader that does not use connector-fs.
 */
import { Buffer } from 'node:buffer';
import { readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EntryAttributes, SourceRecord } from '@kloset/connector-contract';
import { baseName, isValidPath, nameFromBytes } from '@kloset/connector-contract';
import { FsDestination, FsSource } from '@kloset/connector-fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withShortPath } from '../src/native-path.ts';
import {
  longChain,
  readNativeTree,
  removeNativeTree,
  treeKey,
  writeNativeFile,
  writeNativeSymlink,
} from './native-tree.ts';

/** A fresh temporary directory and its removal (long paths included). */
async function tempDir(prefix = 'kloset-fs-'): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, remove: async () => removeNativeTree(dir) };
}

let root: string;
let remove: () => Promise<void>;
beforeEach(async () => {
  ({ dir: root, remove } = await tempDir());
});
afterEach(() => remove());

const latin1 = (s: string) => Buffer.from(s, 'latin1');
const CAFE = latin1('caf\xe9.txt'); // café.txt in Latin-1
const CAFE_E8 = latin1('caf\xe8.txt'); // differs from CAFE in its invalid byte only
const FF_FE = Buffer.of(0xff, 0xfe);
const ODD_DIR = latin1('r\xe9pertoire');
const LITERAL = 'caf\uEFE9.txt'; // valid UTF-8 holding the escape of 0xE9

async function scan(dir: string): Promise<SourceRecord[]> {
  const out: SourceRecord[] = [];
  for await (const r of new FsSource(dir).scan()) out.push(r);
  return out;
}

async function contentOf(r: SourceRecord): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of await r.open()) parts.push(c);
  return Buffer.concat(parts);
}

/** Writes every record into `out` through FsDestination, as the engine would (parents first). */
async function restoreInto(records: readonly SourceRecord[], out: string): Promise<FsDestination> {
  const dest = new FsDestination(out);
  for (const r of records) {
    const { open: _open, changeToken: _t, error: _e, ...attributes } = r;
    const content = r.type === 'file' ? [await contentOf(r)] : undefined;
    const result = await dest.write(
      attributes,
      content &&
        (async function* () {
          yield* content;
        })(),
    );
    expect(result, `write of ${JSON.stringify(r.path)}`).toEqual({ path: r.path, ok: true });
  }
  await dest.finish();
  return dest;
}

function makeOddTree(dir: string): void {
  writeNativeFile(dir, [], CAFE, 'latin-1 name\n');
  writeNativeFile(dir, [], CAFE_E8, 'other byte\n');
  writeNativeFile(dir, [], LITERAL, 'literal escape character\n');
  writeNativeFile(dir, [], FF_FE, 'ff fe\n');
  writeNativeFile(dir, [ODD_DIR], 'inside.txt', 'in an odd directory\n');
  writeNativeFile(dir, [ODD_DIR, FF_FE], CAFE, 'deeper\n');
  writeNativeSymlink(dir, [], latin1('lien-\xe0'), CAFE);
}

describe('names that are not UTF-8', () => {
  it('are scanned under their escaped form, with their bytes, and distinct', async () => {
    makeOddTree(root);
    const records = await scan(root);
    const byPath = new Map(records.map((r) => [r.path, r]));
    expect(records.every((r) => r.error === undefined && isValidPath(r.path))).toBe(true);
    expect(byPath.size).toBe(records.length);

    const cafe = byPath.get('/caf\uEFE9.txt');
    expect(cafe).toMatchObject({ type: 'file', size: 13 });
    expect(Buffer.from(cafe!.nameBytes!).equals(CAFE)).toBe(true);
    expect((await contentOf(cafe!)).toString()).toBe('latin-1 name\n');
    expect(Buffer.from(byPath.get('/caf\uEFE8.txt')!.nameBytes!).equals(CAFE_E8)).toBe(true);
    // The literal U+EFE9 is escaped byte by byte: no collision with the Latin-1 name.
    const literal = byPath.get(`/${nameFromBytes(Buffer.from(LITERAL)).name}`);
    expect((await contentOf(literal!)).toString()).toBe('literal escape character\n');
    expect(Buffer.from(literal!.nameBytes!).toString()).toBe(LITERAL);

    const dir = byPath.get('/r\uEFE9pertoire');
    expect(dir?.type).toBe('directory');
    expect(Buffer.from(dir!.nameBytes!).equals(ODD_DIR)).toBe(true);
    const inside = byPath.get('/r\uEFE9pertoire/inside.txt');
    expect(inside?.nameBytes).toBeUndefined();
    expect((await contentOf(inside!)).toString()).toBe('in an odd directory\n');
    const deeper = byPath.get('/r\uEFE9pertoire/\uEFFF\uEFFE/caf\uEFE9.txt');
    expect((await contentOf(deeper!)).toString()).toBe('deeper\n');

    const link = byPath.get('/lien-\uEFE0');
    expect(link).toMatchObject({ type: 'symlink', linkTarget: 'caf\uEFE9.txt' });
    expect(Buffer.from(link!.linkTargetBytes!).equals(CAFE)).toBe(true);
    // Plain names carry no bytes.
    expect(byPath.get('/')?.nameBytes).toBeUndefined();
    expect(byPath.get('/r\uEFE9pertoire/inside.txt')?.nameBytes).toBeUndefined();
  });

  it('are restored under the same bytes, with their contents and link targets', async () => {
    makeOddTree(root);
    const { dir: out, remove: removeOut } = await tempDir('kloset-fs-out-');
    try {
      await restoreInto(await scan(root), out);
      const restored = readNativeTree(out);
      expect(restored).toEqual(readNativeTree(root));
      expect(restored.get(treeKey(ODD_DIR, FF_FE, CAFE))).toEqual({
        type: 'file',
        bytes: Buffer.from('deeper\n'),
      });
      expect(restored.get(treeKey(latin1('lien-\xe0')))).toEqual({ type: 'symlink', target: CAFE });
    } finally {
      await removeOut();
    }
  });

  it('a destination refuses name bytes that are not what the path says', async () => {
    const dest = new FsDestination(root);
    const base = { type: 'directory', size: 0, mtime: { sec: 0, nsec: 0 }, metadata: {} } as const;
    expect(await dest.write({ ...base, path: '/' })).toMatchObject({ ok: true });
    const write = (entry: EntryAttributes) => dest.write(entry);
    // Bytes that would leave the directory, bytes of a plain name, bytes of another name.
    for (const [path, bytes] of [
      ['/x\uEFFF', Buffer.concat([Buffer.from('../x'), Buffer.of(0xff)])],
      ['/plain', Buffer.from('plain')],
      ['/caf\uEFE9.txt', CAFE_E8],
    ] as const) {
      const r = await write({ ...base, path, nameBytes: bytes });
      expect(r.ok, `write of ${path}`).toBe(false);
      expect(r.error).toMatch(/name bytes .* do not match its path/);
    }
    await dest.finish();
    expect([...readNativeTree(root).keys()]).toEqual([]);
  });

  it('a restore reads back a file under an odd name (readWritten)', async () => {
    makeOddTree(root);
    const { dir: out, remove: removeOut } = await tempDir('kloset-fs-out-');
    try {
      const records = await scan(root);
      const dest = await restoreInto(records, out);
      const path = '/r\uEFE9pertoire/\uEFFF\uEFFE/caf\uEFE9.txt';
      const back = await dest.readWritten(path, 0, new Uint8Array(7));
      expect(back && Buffer.from(back).toString()).toBe('deeper\n');
      expect(baseName(path)).toBe(nameFromBytes(CAFE).name);
    } finally {
      await removeOut();
    }
  });
});

describe('paths longer than PATH_MAX', () => {
  const chain = longChain(25); // 25 x 201 bytes: the file's path is over 5,000 bytes

  it('are scanned, read, restored and read back', async () => {
    writeNativeFile(root, chain, 'bottom.txt', 'at the bottom\n');
    writeNativeFile(root, chain, FF_FE, 'odd name at the bottom\n');
    writeNativeSymlink(root, chain, 'up', '..');
    const records = await scan(root);
    expect(records.filter((r) => r.error !== undefined)).toEqual([]);
    const bottomPath = `/${chain.join('/')}/bottom.txt`;
    expect(Buffer.byteLength(join(root, bottomPath))).toBeGreaterThan(5000);
    const bottom = records.find((r) => r.path === bottomPath);
    expect((await contentOf(bottom!)).toString()).toBe('at the bottom\n');
    expect(records.find((r) => r.path === `/${chain.join('/')}/up`)?.linkTarget).toBe('..');

    const { dir: out, remove: removeOut } = await tempDir('kloset-fs-out-');
    try {
      const dest = await restoreInto(records, out);
      const restored = readNativeTree(out);
      expect(restored).toEqual(readNativeTree(root));
      expect(restored.get(treeKey(...chain, FF_FE))).toEqual({
        type: 'file',
        bytes: Buffer.from('odd name at the bottom\n'),
      });
      // A restore reads back what it wrote, at the end of a long path too (readWritten).
      const back = await dest.readWritten(bottomPath, 3, new Uint8Array(6));
      expect(back && Buffer.from(back).toString()).toBe('the bo');
    } finally {
      await removeOut();
    }
  });

  it('withShortPath chains directory descriptors for paths of several PATH_MAX', async () => {
    const deep = longChain(50); // over 10,000 bytes: two hops
    writeNativeFile(root, deep, 'f', 'far down');
    const path = [root, ...deep, 'f'].join('/');
    expect(Buffer.byteLength(path)).toBeGreaterThan(2 * 4096);
    const seen: string[] = [];
    const openFds = () => readdirSync('/proc/self/fd').length;
    const before = openFds();
    const content = await withShortPath(path, async (p) => {
      seen.push(p.toString());
      return (await readFile(p)).toString();
    });
    expect(openFds()).toBe(before);
    expect(content).toBe('far down');
    expect(seen[0]).toMatch(/^\/proc\/self\/fd\/\d+\/.*\/f$/);
    expect(Buffer.byteLength(seen[0]!)).toBeLessThan(4096);
    // A short path is handed over as it is.
    await mkdir(join(root, 'short'));
    await writeFile(join(root, 'short', 'g'), 'near');
    await withShortPath(join(root, 'short', 'g'), async (p) => {
      expect(p).toBe(join(root, 'short', 'g'));
    });
  });
});
