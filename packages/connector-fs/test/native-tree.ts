/**
 * Test trees with names as bytes and paths of any length, made and read back independently of
 * connector-fs: every call goes through the descriptor of the parent directory
 * (`/proc/self/fd/N/name`, an openat() of sorts), so no path handed to the kernel is long.
 */
import { Buffer } from 'node:buffer';
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  constants,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';

/** A name given as a string (UTF-8) or as bytes. */
export type Name = string | Uint8Array;

/** What a tree holds under a relative path. */
export type NativeEntry =
  | { readonly type: 'directory' }
  | { readonly type: 'file'; readonly bytes: Buffer }
  | { readonly type: 'symlink'; readonly target: Buffer };

const bytesOf = (name: Name): Buffer => (typeof name === 'string' ? Buffer.from(name) : Buffer.from(name));

function at(fd: number, name: Name): Buffer {
  return Buffer.concat([Buffer.from(`/proc/self/fd/${fd}/`), bytesOf(name)]);
}

function openDir(path: Buffer | string): number {
  return openSync(path, constants.O_RDONLY | constants.O_DIRECTORY);
}

/** Runs `fn` with a descriptor of the directory `root/dirs...`, creating the missing ones. */
export function inDirectory<T>(root: string, dirs: readonly Name[], fn: (fd: number) => T): T {
  let fd = openDir(root);
  try {
    for (const d of dirs) {
      const p = at(fd, d);
      try {
        mkdirSync(p);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const next = openDir(p);
      closeSync(fd);
      fd = next;
    }
    return fn(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes the file `root/dirs.../name` (creating its directories). */
export function writeNativeFile(
  root: string,
  dirs: readonly Name[],
  name: Name,
  content: string | Buffer,
): void {
  inDirectory(root, dirs, (fd) => writeFileSync(at(fd, name), content));
}

/** Creates the symlink `root/dirs.../name` to `target`. */
export function writeNativeSymlink(root: string, dirs: readonly Name[], name: Name, target: Name): void {
  inDirectory(root, dirs, (fd) => symlinkSync(bytesOf(target), at(fd, name)));
}

/**
 * Every entry below `root`, keyed by its relative path as bytes shown in latin1 (one character
 * per byte, so the key tells the bytes exactly), components joined by `/`.
 */
export function readNativeTree(root: string): Map<string, NativeEntry> {
  const out = new Map<string, NativeEntry>();
  const visit = (fd: number, prefix: string) => {
    for (const name of readdirSync(`/proc/self/fd/${fd}`, { encoding: 'buffer' })) {
      const p = at(fd, name);
      const key = prefix + name.toString('latin1');
      const st = lstatSync(p);
      if (st.isDirectory()) {
        out.set(key, { type: 'directory' });
        const sub = openDir(p);
        try {
          visit(sub, `${key}/`);
        } finally {
          closeSync(sub);
        }
      } else if (st.isSymbolicLink()) {
        out.set(key, { type: 'symlink', target: readlinkSync(p, { encoding: 'buffer' }) });
      } else if (st.isFile()) {
        out.set(key, { type: 'file', bytes: readFileSync(p) });
      }
    }
  };
  const fd = openDir(root);
  try {
    visit(fd, '');
  } finally {
    closeSync(fd);
  }
  return out;
}

/** `count` nested directory names of `length` bytes each (a path of about count * (length + 1) bytes). */
export function longChain(count: number, length = 200): string[] {
  return Array.from({ length: count }, (_, i) => `${String(i).padStart(3, '0')}-`.padEnd(length, 'x'));
}

/** The key of readNativeTree for a relative path given as names. */
export function treeKey(...names: Name[]): string {
  return names.map((n) => bytesOf(n).toString('latin1')).join('/');
}

/** Removes a tree whatever the length of its paths (fs.rm fails past PATH_MAX; rm(1) does not). */
export function removeNativeTree(dir: string): void {
  execFileSync('rm', ['-rf', '--', dir]);
}
