/**
 * End to end on the real stack: FsSource -> backup -> Repository on FsStorage -> check -> restore
 * -> FsDestination, then the restored tree is compared with the original, and the store's bytes
 * are searched for anything that would reveal the data.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  readlink,
  rm,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { FsDestination, FsSource, FsStorage } from '@kloset/connector-fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup, check, listPath, Repository, restore, type SnapshotHeader } from '../src/index.ts';

const MARKER = 'kloset-e2e-marker-5c1d0b7e';
const BIG = 200 * 1024 * 1024;

let base: string;
beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'kloset-e2e-'));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

/** Writes `size` bytes of random data with the marker every 16 MiB. */
async function writeBig(path: string, size: number): Promise<void> {
  const fh = await open(path, 'w');
  try {
    const piece = 8 * 1024 * 1024;
    for (let off = 0; off < size; off += piece) {
      const buf = randomBytes(Math.min(piece, size - off));
      if (off % (16 * 1024 * 1024) === 0) buf.write(MARKER, 1000);
      await fh.write(buf);
    }
  } finally {
    await fh.close();
  }
}

async function makeTree(root: string): Promise<void> {
  const text = `${MARKER}\n${'the quick brown fox jumps over the lazy dog\n'.repeat(2000)}`;
  await mkdir(join(root, 'a/b/c/d/e/f'), { recursive: true });
  await mkdir(join(root, 'é/中文/😀 smile'), { recursive: true });
  await mkdir(join(root, 'empty-dir'));
  await writeFile(join(root, 'a/hello.txt'), text);
  await writeFile(join(root, 'a/b/empty'), '');
  await writeFile(join(root, 'empty-top'), '');
  await writeFile(join(root, 'a/b/c/d/e/f/deep.txt'), `deep ${MARKER}`);
  await writeFile(join(root, 'é/中文/😀 smile/🎉 file.txt'), `unicode ${MARKER}`);
  await writeFile(join(root, 'é/ß\uFFFD\u{10FFFF}'), 'odd names');
  await writeFile(join(root, 'tool.sh'), `#!/bin/sh\necho ${MARKER}\n`);
  await chmod(join(root, 'tool.sh'), 0o755);
  await writeFile(join(root, 'secret'), `private ${MARKER}`);
  await chmod(join(root, 'secret'), 0o600);
  await chmod(join(root, 'a/b'), 0o700);
  await writeBig(join(root, 'big.bin'), BIG);
  await writeFile(join(root, 'a/copy-of-hello.txt'), text);
  await symlink('a/hello.txt', join(root, 'link-rel'));
  await symlink('/etc/hostname', join(root, 'a/link-abs'));
  await symlink('does/not/exist', join(root, 'dangling'));
  await symlink('a', join(root, 'dirlink'));
  await utimes(join(root, 'a/hello.txt'), 1_500_000_000.123456, 1_500_000_000.654321);
  await utimes(join(root, 'é'), 1_400_000_000, 1_400_000_000.5);
}

interface Node {
  type: string;
  mode: number;
  mtimeNs: bigint;
  size: number;
  link?: string;
  sha256?: string;
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  const fh = await open(path, 'r');
  try {
    for await (const chunk of fh.createReadStream({ highWaterMark: 4 * 1024 * 1024 }))
      h.update(chunk as Buffer);
  } finally {
    await fh.close();
  }
  return h.digest('hex');
}

async function describeTree(root: string): Promise<Map<string, Node>> {
  const out = new Map<string, Node>();
  const visit = async (abs: string): Promise<void> => {
    const st = await lstat(abs, { bigint: true });
    const rel = `/${relative(root, abs)}`;
    const node: Node = {
      type: st.isDirectory() ? 'directory' : st.isSymbolicLink() ? 'symlink' : 'file',
      mode: Number(st.mode & 0o7777n),
      mtimeNs: st.mtimeNs,
      size: st.isFile() ? Number(st.size) : 0,
    };
    if (st.isSymbolicLink()) node.link = await readlink(abs);
    if (st.isFile()) node.sha256 = await sha256File(abs);
    out.set(rel === '/' ? '/' : rel, node);
    if (st.isDirectory()) for (const name of await readdir(abs)) await visit(join(abs, name));
  };
  await visit(root);
  return out;
}

async function storeFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(join(e.parentPath, e.name));
  }
  return out;
}

describe('end to end on a local fs store', () => {
  let data: string;
  let storeDir: string;
  let cacheDir: string;
  let original: Map<string, Node>;
  let first: SnapshotHeader;

  const openRepo = () => Repository.open(new FsStorage(storeDir), { passphrase: 'correct horse', cacheDir });

  beforeAll(async () => {
    data = join(base, 'data');
    storeDir = join(base, 'store');
    cacheDir = join(base, 'cache');
    await mkdir(data);
    await makeTree(data);
    original = await describeTree(data);
    const repo = await Repository.create(new FsStorage(storeDir), {
      passphrase: 'correct horse',
      kdf: { memoryKiB: 1024, passes: 1 },
      allowWeakKdf: true,
      cacheDir,
    });
    await repo.close();
  }, 120_000);

  it('backs up, checks and restores the tree identically', async () => {
    const repo = await openRepo();
    try {
      const t0 = performance.now();
      const res = await backup(repo, new FsSource(data), { name: 'e2e' });
      const backupMs = performance.now() - t0;
      first = res.header;
      expect(res.errors).toEqual([]);
      expect(res.header.summary).toMatchObject({ errors: 0, symlinks: 4 });
      expect(res.header.summary.bytes).toBeGreaterThan(BIG);

      const t1 = performance.now();
      const full = await check(repo);
      const checkMs = performance.now() - t1;
      expect(full.reports).toEqual([]);
      expect(full.bytes).toBeGreaterThanOrEqual(BIG);
      expect((await check(repo, { fast: true })).ok).toBe(true);

      const target = join(base, 'restored');
      const t2 = performance.now();
      const r = await restore(repo, res.id.slice(0, 8), new FsDestination(target));
      const restoreMs = performance.now() - t2;
      expect(r.failures).toEqual([]);
      const restored = await describeTree(target);
      expect([...restored.keys()].sort()).toEqual([...original.keys()].sort());
      for (const [path, want] of original) {
        const got = restored.get(path)!;
        const { mtimeNs: wantNs, ...wantRest } = want;
        const { mtimeNs: gotNs, ...gotRest } = got;
        expect(gotRest, path).toEqual(wantRest);
        // Node has no nanosecond utimes: mtimes round-trip to within a microsecond.
        const delta = gotNs > wantNs ? gotNs - wantNs : wantNs - gotNs;
        expect(delta <= 1000n, `${path}: mtime ${gotNs} vs ${wantNs}`).toBe(true);
      }
      const mib = (n: number) => n / (1024 * 1024);
      const secs = (ms: number) => ms / 1000;
      process.stderr.write(
        `e2e: ${mib(res.header.summary.bytes).toFixed(0)} MiB; backup ${secs(backupMs).toFixed(2)} s ` +
          `(${(mib(res.header.summary.bytes) / secs(backupMs)).toFixed(0)} MiB/s), check ${secs(checkMs).toFixed(2)} s, ` +
          `restore ${secs(restoreMs).toFixed(2)} s (${(mib(r.summary.bytes) / secs(restoreMs)).toFixed(0)} MiB/s)\n`,
      );
    } finally {
      await repo.close();
    }
  }, 300_000);

  it('stores almost nothing and reads nothing on a second backup; ls lists paths', async () => {
    const repo = await openRepo();
    try {
      const res = await backup(repo, new FsSource(data));
      expect(res.filesRead).toBe(0);
      expect(res.header.parent).toEqual(first.id);
      expect(res.header.summary.storedBytes).toBeLessThan(64 * 1024);
      const top = [];
      for await (const e of listPath(repo, 'latest', '/é')) top.push(`${e.path}:${e.type}`);
      expect(top).toEqual(['/é:directory', '/é/ß\uFFFD\u{10FFFF}:file', '/é/中文:directory']);
    } finally {
      await repo.close();
    }
  }, 120_000);

  it('leaves no marker string and no SHA-256 of any file in the store', async () => {
    const needles: Buffer[] = [Buffer.from(MARKER)];
    for (const n of original.values()) {
      if (n.sha256 === undefined) continue;
      needles.push(Buffer.from(n.sha256, 'hex'), Buffer.from(n.sha256));
    }
    const files = await storeFiles(storeDir);
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) {
      const bytes = await readFile(f);
      for (const needle of needles)
        expect(bytes.indexOf(needle), `${f} contains ${needle.toString('hex')}`).toBe(-1);
    }
  }, 120_000);

  it('names the affected files when a packfile byte flips, and restore refuses that content', async () => {
    const repo = await openRepo();
    let tool: { packfile: string; offset: number } | undefined;
    try {
      const { TreeReader, BlobKind } = await import('../src/index.ts');
      const entry = await new TreeReader(repo, first.root).get('/tool.sh', 'file');
      const loc = repo.locateBlob(BlobKind.Chunk, entry!.chunks[0]!.id)!;
      tool = { packfile: Buffer.from(loc.packfile).toString('hex'), offset: loc.offset + 5 };
    } finally {
      await repo.close();
    }
    const packPath = (await storeFiles(storeDir)).find((f) => f.includes(tool!.packfile))!;
    const fh = await open(packPath, 'r+');
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, tool.offset);
    b[0] = b[0]! ^ 0x01;
    await fh.write(b, 0, 1, tool.offset);
    await fh.close();

    const repo2 = await openRepo();
    try {
      const res = await check(repo2);
      expect(res.ok).toBe(false);
      const paths = new Set(res.reports.map((p) => `${p.kind} ${p.path}`));
      expect(paths).toEqual(new Set(['corrupt-blob /tool.sh']));
      expect(res.reports.length).toBe(2); // in both snapshots
      const target = join(base, 'restored-corrupt');
      const r = await restore(repo2, first, new FsDestination(target));
      expect(r.failures.map((f) => f.path)).toEqual(['/tool.sh']);
      expect(r.summary.corrupt).toBe(1);
      expect(r.failures[0]!.error).toMatch(/corrupt/);
      await expect(lstat(join(target, 'tool.sh'))).rejects.toThrow(/ENOENT/);
      expect((await readdir(target)).filter((n) => n.includes('tool'))).toEqual([]);
      expect((await lstat(join(target, 'secret'))).isFile()).toBe(true);
    } finally {
      await repo2.close();
    }
  }, 120_000);
});
