/** Test data trees: generate one, and describe one (for comparing a restore with its source). */
import { createHash, randomBytes } from 'node:crypto';
import {
  chmod,
  lstat,
  mkdir,
  open,
  readdir,
  readFile,
  readlink,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';

/** Nested folders, empty files, a bigger file, symlinks, unicode names, an executable. */
export async function makeSampleTree(root: string, bigFileBytes = 3 << 20): Promise<void> {
  await mkdir(join(root, 'docs', 'deep', 'deeper'), { recursive: true });
  await mkdir(join(root, 'empty-dir'));
  await writeFile(join(root, 'docs', 'readme.txt'), 'hello kloset\n');
  await writeFile(join(root, 'docs', 'deep', 'deeper', 'note.md'), '# note\n'.repeat(100));
  await writeFile(join(root, 'empty.txt'), '');
  await writeFile(join(root, 'big.bin'), randomBytes(bigFileBytes));
  await writeFile(join(root, 'héllo wörld ✓.txt'), 'unicode\n');
  await writeFile(join(root, 'run.sh'), '#!/bin/sh\necho hi\n');
  await chmod(join(root, 'run.sh'), 0o755);
  await symlink('docs/readme.txt', join(root, 'link-to-readme'));
  await symlink('/nonexistent/target', join(root, 'dangling'));
  await utimes(join(root, 'docs', 'readme.txt'), 1_600_000_000, 1_600_000_000.5);
}

/** `count` files of `size` random bytes in `dirs` directories. */
export async function makeBigTree(root: string, count: number, size: number, dirs = 10): Promise<void> {
  for (let d = 0; d < dirs; d++) await mkdir(join(root, `d${d}`), { recursive: true });
  for (let i = 0; i < count; i++) await writeFile(join(root, `d${i % dirs}`, `f${i}.bin`), randomBytes(size));
}

export interface TreeItem {
  readonly path: string;
  readonly type: 'file' | 'directory' | 'symlink';
  readonly mode: number;
  readonly mtimeMs?: number;
  readonly sha256?: string;
  readonly link?: string;
}

/** Every entry under `root` with its type, mode, mtime (files and symlinks), content hash and link target. */
export async function describeTree(root: string, dir = ''): Promise<TreeItem[]> {
  const out: TreeItem[] = [];
  const names = (await readdir(join(root, dir))).sort();
  for (const name of names) {
    const rel = dir ? `${dir}/${name}` : name;
    const abs = join(root, rel);
    const st = await lstat(abs);
    if (st.isSymbolicLink()) out.push({ path: rel, type: 'symlink', mode: 0, link: await readlink(abs) });
    else if (st.isDirectory()) {
      out.push({ path: rel, type: 'directory', mode: st.mode & 0o7777 });
      out.push(...(await describeTree(root, rel)));
    } else {
      const sha256 = createHash('sha256')
        .update(await readFile(abs))
        .digest('hex');
      out.push({ path: rel, type: 'file', mode: st.mode & 0o7777, mtimeMs: Math.floor(st.mtimeMs), sha256 });
    }
  }
  return out;
}

/** Every file under `root` with its size and mtime: a fingerprint to prove nothing was written. */
export async function fingerprint(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const abs = join(dir, e.name);
      if (e.isDirectory()) await walk(abs);
      else {
        const st = await lstat(abs);
        out.push(`${abs} ${st.size} ${st.mtimeMs}`);
      }
    }
  };
  await walk(root);
  return out.sort();
}

/** The largest file under `root` (a packfile, in a store). */
export async function largestFile(root: string): Promise<{ path: string; size: number }> {
  let best = { path: '', size: -1 };
  const walk = async (dir: string) => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const abs = join(dir, e.name);
      if (e.isDirectory()) await walk(abs);
      else {
        const { size } = await lstat(abs);
        if (size > best.size) best = { path: abs, size };
      }
    }
  };
  await walk(root);
  return best;
}

/**
 * Flips one byte a third of the way into the largest file under `root` (in a store: the packfile
 * holding the biggest file's content). Returns that file.
 */
export async function flipByteOfLargestFile(root: string): Promise<{ path: string; size: number }> {
  const pack = await largestFile(root);
  const fh = await open(pack.path, 'r+');
  try {
    const at = Math.floor(pack.size / 3);
    const byte = Buffer.alloc(1);
    await fh.read(byte, 0, 1, at);
    byte[0] = byte[0]! ^ 0xff;
    await fh.write(byte, 0, 1, at);
  } finally {
    await fh.close();
  }
  return pack;
}
