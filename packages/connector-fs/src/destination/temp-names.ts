/**
 * The temporary names a restore writes a replacement under before renaming it over the file or
 * symlink it replaces: `.kloset-RANDOM-N.tmp` in the same directory, RANDOM (12 hex digits) drawn
 * once per process and N a counter. A restore killed between the creation and the rename leaves
 * one behind; the next restore into that directory removes it (removeStaleTemps).
 */
import { randomBytes } from 'node:crypto';
import { lstat, readdir, unlink } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { childPath, type NativePath } from '../native-path.ts';

const TEMP_PREFIX = `.kloset-${randomBytes(6).toString('hex')}-`;
const TEMP_NAME = /^\.kloset-[0-9a-f]{12}-[0-9a-z]+\.tmp$/;
let tempCounter = 0;

/** A temporary name in the directory `dir` (creation is exclusive anyway). */
export function tempName(dir: NativePath): NativePath {
  return childPath(dir, `${TEMP_PREFIX}${(tempCounter++).toString(36)}.tmp`);
}

/**
 * Removes from `dir` the regular files named as temporary names are, written before this process
 * started (so never one of a restore running now, this one or another started after it), by
 * another process. Best effort: a file it cannot list, inspect or remove is left as it is. Returns
 * how many it removed.
 */
export async function removeStaleTemps(dir: NativePath): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir, { encoding: 'utf8' });
  } catch {
    return 0;
  }
  const started = performance.timeOrigin;
  let removed = 0;
  for (const name of names) {
    if (!TEMP_NAME.test(name) || name.startsWith(TEMP_PREFIX)) continue;
    const path = childPath(dir, name);
    try {
      const st = await lstat(path);
      if (!st.isFile() || st.mtimeMs >= started) continue;
      await unlink(path);
      removed++;
    } catch {
      // Gone already, or not ours to remove: left as it is.
    }
  }
  return removed;
}
