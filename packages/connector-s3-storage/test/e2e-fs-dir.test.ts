/**
 * A local directory backed up into a store in an S3 bucket (RGW), then restored from that store
 * alone (reopened with an empty cache) into another directory: the same tree, byte for byte, with
 * modes, symlinks and mtimes; a full check of the store in S3 finds nothing wrong.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
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
import { RetryStorage } from '@kloset/connector-contract';
import { FsDestination, FsSource } from '@kloset/connector-fs';
import { backup, check, Repository, restore } from '@kloset/core';
import { s3TestBuckets, s3TestParams } from '@kloset/s3-common/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Storage } from '../src/index.ts';

const MiB = 1024 * 1024;
const s3 = s3TestBuckets();
const { env } = s3;
let base = '';
let bucket = '';

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'kloset-dir-to-s3-'));
  bucket = await s3.create('dir-store');
});
afterAll(async () => {
  if (base) await rm(base, { recursive: true, force: true });
  await s3.dispose();
});

/** A small tree with what a directory can hold; one file spans two packfiles. */
async function makeTree(root: string): Promise<void> {
  await mkdir(join(root, 'docs/deep/er'), { recursive: true });
  await mkdir(join(root, 'é 中文'), { recursive: true });
  await mkdir(join(root, 'empty'));
  await writeFile(join(root, 'docs/readme.md'), '# hello\n'.repeat(1000));
  await writeFile(join(root, 'docs/deep/er/nested.txt'), 'nested');
  await writeFile(join(root, 'é 中文/😀.txt'), 'unicode');
  await writeFile(join(root, 'zero'), '');
  await writeFile(join(root, 'big.bin'), randomBytes(20 * MiB));
  await writeFile(join(root, 'run.sh'), '#!/bin/sh\necho hi\n');
  await chmod(join(root, 'run.sh'), 0o750);
  await symlink('docs/readme.md', join(root, 'link'));
  await utimes(join(root, 'docs/readme.md'), 1_500_000_000.25, 1_500_000_000.25);
}

/** rel path -> type, mode, size, content hash or link target, mtime in ms (dirs: no mtime). */
async function snapshotOf(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  for (const e of entries) {
    const path = join(e.parentPath, e.name);
    const st = await lstat(path);
    const mode = (st.mode & 0o7777).toString(8);
    let what: string;
    if (st.isSymbolicLink()) what = `symlink ${await readlink(path)}`;
    else if (st.isDirectory()) what = 'directory';
    else
      what = `file ${st.size} ${createHash('sha256')
        .update(await readFile(path))
        .digest('hex')} ${Math.floor(st.mtimeMs)}`;
    out.set(relative(root, path), `${what} mode ${mode}`);
  }
  return out;
}

describe('a local directory into a store in S3 and back', () => {
  it('backs up, checks, reopens from S3 alone and restores the same tree', async () => {
    const data = join(base, 'data');
    await mkdir(data);
    await makeTree(data);
    const storage = () => createS3Storage(s3TestParams(env, bucket, 'stores/dir'));
    const repo = await Repository.create(new RetryStorage(await storage()), {
      passphrase: 'dir',
      kdf: { memoryKiB: 1024, passes: 1 },
      allowWeakKdf: true,
      cacheDir: join(base, 'cache-1'),
    });
    let id = '';
    try {
      const res = await backup(repo, new FsSource(data));
      expect(res.errors).toEqual([]);
      expect(res.header.summary).toMatchObject({ files: 6, symlinks: 1, errors: 0 });
      id = res.id;
    } finally {
      await repo.close();
    }

    const again = await Repository.open(new RetryStorage(await storage()), {
      passphrase: 'dir',
      cacheDir: join(base, 'cache-2'),
    });
    try {
      const checked = await check(again);
      expect(checked.reports).toEqual([]);
      const target = join(base, 'restored');
      const r = await restore(again, id.slice(0, 8), new FsDestination(target));
      expect(r.failures).toEqual([]);
      const want = await snapshotOf(data);
      expect(want.size, 'entries of the tree (5 directories, 6 files, 1 symlink)').toBe(12);
      expect(await snapshotOf(target)).toEqual(want);
    } finally {
      await again.close();
    }
  }, 300_000);
});
