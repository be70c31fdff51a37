/**
 * Paths of the local file system as the kernel takes them: names are bytes (not always UTF-8), and
 * a path may be longer than the kernel accepts in one system call.
 *
 * Names that are valid UTF-8 are handled as strings (Node encodes them back to the same bytes);
 * a name that is not (nameFromBytes of the contract says `escaped`) is kept as its bytes, and so
 * is every path below it.
 *
 * Linux refuses a path of PATH_MAX (4096) bytes or more, its NUL included, with ENAMETOOLONG,
 * while a tree may be deeper than that (tar and restic keep such paths). Node has no openat(), so
 * a longer path goes through a directory descriptor: the directory of the first part of the path
 * (shorter than PATH_MAX) is opened, and the rest is reached through `/proc/self/fd/N/rest`, a
 * link the kernel resolves to the open directory; again on the rest while it is still too long.
 * Only paths that need it take that route: for every other path it costs one length test.
 */
import { Buffer } from 'node:buffer';
import { close, constants, open } from 'node:fs';
import { nameFromBytes } from '@kloset/connector-contract';

/** A path given to fs calls: a string while every name in it is UTF-8, else its bytes. */
export type NativePath = string | Buffer;

/** Paths of this many bytes or more are refused by the kernel. */
export const PATH_MAX = 4096;

/** Longest file name (in bytes) of the file systems Linux supports. */
export const NAME_MAX = 255;

const SLASH = 0x2f;

/** `dir/name`: a string when both are strings, else bytes. `name` is a string or a name's bytes. */
export function childPath(dir: NativePath, name: string | Uint8Array): NativePath {
  if (typeof dir === 'string' && typeof name === 'string')
    return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
  const d = typeof dir === 'string' ? Buffer.from(dir) : dir;
  const n = typeof name === 'string' ? Buffer.from(name) : name;
  return d[d.length - 1] === SLASH ? Buffer.concat([d, n]) : Buffer.concat([d, Buffer.of(SLASH), n]);
}

/** A path for messages: a path held as bytes is shown in the escaped form of nameFromBytes. */
export function shownPath(path: NativePath): string {
  return typeof path === 'string' ? path : nameFromBytes(path).name;
}

/** True when `path`, with `reserve` more bytes, is too long for one system call. */
export function isLong(path: NativePath, reserve = 0): boolean {
  if (typeof path === 'string') {
    // A UTF-16 code unit is at most 3 bytes of UTF-8: most paths are decided without encoding them.
    return path.length * 3 + reserve >= PATH_MAX && Buffer.byteLength(path) + reserve >= PATH_MAX;
  }
  return path.length + reserve >= PATH_MAX;
}

/**
 * Calls `fn` with a path naming the same file as `path` that the kernel accepts (leaving room for
 * `reserve` more bytes, to append a name to a directory's path): `path` itself when it is short
 * enough, else `/proc/self/fd/N/rest` through an open directory, closed once `fn` settles. What
 * `fn` opens stays valid after that. A directory on the way that cannot be opened to read fails
 * the call with its error.
 */
export async function withShortPath<T>(
  path: NativePath,
  fn: (short: NativePath) => Promise<T>,
  reserve = 0,
): Promise<T> {
  if (!isLong(path, reserve)) return fn(path);
  let rest = typeof path === 'string' ? Buffer.from(path) : path;
  let prefix = Buffer.alloc(0);
  let fd: number | undefined;
  try {
    while (prefix.length + rest.length + reserve >= PATH_MAX) {
      // The directory to open: the longest part of `rest` that ends before a slash and fits.
      const cut = rest.lastIndexOf(SLASH, PATH_MAX - 1 - prefix.length);
      if (cut <= 0) {
        throw Object.assign(new Error(`ENAMETOOLONG: name too long, ${shownPath(path)}`), {
          code: 'ENAMETOOLONG',
        });
      }
      const dirFd = await openDirectory(Buffer.concat([prefix, rest.subarray(0, cut)]));
      if (fd !== undefined) await closeFd(fd);
      fd = dirFd;
      prefix = Buffer.from(`/proc/self/fd/${fd}/`);
      rest = rest.subarray(cut + 1);
    }
    return await fn(Buffer.concat([prefix, rest]));
  } finally {
    if (fd !== undefined) await closeFd(fd).catch(() => {});
  }
}

function openDirectory(path: Buffer): Promise<number> {
  return new Promise((resolve, reject) =>
    open(path, constants.O_RDONLY | constants.O_DIRECTORY, (err, fd) => (err ? reject(err) : resolve(fd))),
  );
}

function closeFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => close(fd, (err) => (err ? reject(err) : resolve())));
}
