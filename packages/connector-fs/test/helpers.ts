// Test helpers: temporary directories, materializing source fixtures, reading restored trees back.

import { spawnSync } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EntryPath } from '@kloset/connector-contract';
import type { ReadBackEntry, SourceFixture } from '@kloset/connector-contract/conformance';

/** A fresh temporary directory and its removal. */
export async function tempDir(prefix = 'kloset-fs-'): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Absolute path of an EntryPath under `root`. */
export function abs(root: string, path: EntryPath): string {
  return path === '/' ? root : join(root, ...path.slice(1).split('/'));
}

/** Writes a source fixture under `root` (files with their mtimes, empty directories). */
export async function materialize(root: string, fixture: SourceFixture): Promise<void> {
  for (const file of fixture.files) {
    const path = abs(root, file.path);
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, file.bytes);
    if (file.mtime) {
      const t = file.mtime.sec + file.mtime.nsec / 1e9;
      await utimes(path, t, t);
    }
  }
  for (const dir of fixture.emptyDirectories) await mkdir(abs(root, dir), { recursive: true });
}

/** Reads a directory tree back with lstat, independently of FsSource. */
export async function readTree(root: string): Promise<Map<EntryPath, ReadBackEntry>> {
  const out = new Map<EntryPath, ReadBackEntry>();
  async function visit(path: EntryPath, absPath: string): Promise<void> {
    const st = await lstat(absPath, { bigint: true });
    const mode = Number(st.mode & 0o7777n);
    const mtime = { sec: Number(st.mtimeNs / 1_000_000_000n), nsec: Number(st.mtimeNs % 1_000_000_000n) };
    if (st.isSymbolicLink()) {
      out.set(path, { type: 'symlink', linkTarget: await readlink(absPath), mtime, mode });
    } else if (st.isFile()) {
      out.set(path, { type: 'file', bytes: new Uint8Array(await readFile(absPath)), mtime, mode });
    } else if (st.isDirectory()) {
      out.set(path, { type: 'directory', mtime, mode });
      for (const name of await readdir(absPath)) {
        await visit(path === '/' ? `/${name}` : `${path}/${name}`, join(absPath, name));
      }
    }
  }
  await visit('/', root);
  return out;
}

/**
 * Runs test/fixtures/as-user.ts with `args` and returns what it printed. When the tests run as
 * root it runs as `nobody` (uid 65534), so that permission checks apply.
 */
export function runAsUser(...args: string[]): Record<string, unknown> {
  const script = fileURLToPath(new URL('./fixtures/as-user.ts', import.meta.url));
  const asRoot = process.getuid?.() === 0;
  const result = spawnSync(process.execPath, ['--conditions=kloset-source', script, ...args], {
    encoding: 'utf8',
    ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
  });
  if (result.status !== 0) throw new Error(`as-user.ts ${args.join(' ')} failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}
