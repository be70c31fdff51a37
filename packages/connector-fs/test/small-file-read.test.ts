/**
 * Small files (at most INLINE_READ_MAX bytes) are read whole on the calling thread through
 * InlineCalls, or in the thread pool when InlineCalls says so: same bytes, same checks.
 */
import { appendFile, lstat, truncate, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ConnectorError, isConnectorError } from '@kloset/connector-contract';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InlineCalls } from '../src/inline-calls.ts';
import { type FileState, fileContent, INLINE_READ_MAX } from '../src/source/file-content.ts';
import { tempDir } from './helpers.ts';

let root: string;
let remove: () => Promise<void>;
beforeEach(async () => {
  ({ dir: root, remove } = await tempDir());
});
afterEach(() => remove());

async function stateOf(path: string): Promise<FileState> {
  const st = await lstat(path, { bigint: true });
  return { size: Number(st.size), mtimeNs: st.mtimeNs };
}

/** Reads a content stream to its end or failure. */
async function readAll(path: string, scanned: FileState | undefined, calls: InlineCalls) {
  const pieces: Uint8Array[] = [];
  let error: ConnectorError | undefined;
  try {
    for await (const piece of fileContent(path, scanned, calls)) pieces.push(piece);
  } catch (err) {
    if (!isConnectorError(err)) throw err;
    error = err;
  }
  return { bytes: Buffer.concat(pieces), pieces: pieces.length, error };
}

function bytes(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + (i >>> 8)) & 0xff;
  return b;
}

describe('small files read whole', () => {
  it('up to INLINE_READ_MAX bytes: read inline in one piece; a larger file: only opened inline', async () => {
    const small = bytes(INLINE_READ_MAX);
    const large = bytes(INLINE_READ_MAX + 1);
    await writeFile(join(root, 'small'), small);
    await writeFile(join(root, 'large'), large);
    const calls = new InlineCalls({ slowMs: 1000, averageSlowMs: 1000 });
    const s = await readAll(join(root, 'small'), await stateOf(join(root, 'small')), calls);
    expect(s).toEqual({ bytes: small, pieces: 1, error: undefined });
    expect(calls.counts).toEqual({ inline: 1, pooled: 0 });
    const l = await readAll(join(root, 'large'), await stateOf(join(root, 'large')), calls);
    expect(l.bytes.equals(large)).toBe(true);
    expect(calls.counts).toEqual({ inline: 2, pooled: 0 }); // its open, inline; its read in the pool
  });

  it('an empty file yields nothing', async () => {
    await writeFile(join(root, 'empty'), '');
    const calls = new InlineCalls();
    expect(await readAll(join(root, 'empty'), await stateOf(join(root, 'empty')), calls)).toEqual({
      bytes: Buffer.alloc(0),
      pieces: 0,
      error: undefined,
    });
    expect(calls.counts.inline).toBe(1);
  });

  for (const poolOnly of [false, true]) {
    describe(poolOnly ? 'in the thread pool' : 'inline', () => {
      const calls = () => new InlineCalls({ poolOnly, slowMs: 1000, averageSlowMs: 1000 });

      it('grew since the scan: the scanned size is yielded, then changed', async () => {
        const file = join(root, 'f');
        await writeFile(file, bytes(1000));
        const scanned = await stateOf(file);
        await appendFile(file, 'more');
        const c = calls();
        const r = await readAll(file, scanned, c);
        expect(r.bytes.equals(bytes(1000))).toBe(true);
        expect(r.error?.code).toBe('changed');
        expect(r.error?.message).toBe(`${file} grew while being read (size 1000 when scanned or opened)`);
        // Pool only: the whole read is refused inline, then the open goes to the pool too.
        expect(c.counts).toEqual(poolOnly ? { inline: 0, pooled: 2 } : { inline: 1, pooled: 0 });
      });

      it('shrank since the scan: what is left is yielded, then changed', async () => {
        const file = join(root, 'f');
        await writeFile(file, bytes(1000));
        const scanned = await stateOf(file);
        await truncate(file, 300);
        const r = await readAll(file, scanned, calls());
        expect(r.bytes.equals(bytes(300))).toBe(true);
        expect(r.error?.code).toBe('changed');
        expect(r.error?.message).toBe(`${file} shrank while being read: 300 of 1000 bytes`);
      });

      it('modified in place since the scan (same size, new mtime): the bytes, then changed', async () => {
        const file = join(root, 'f');
        await writeFile(file, 'abc');
        const scanned = await stateOf(file);
        await writeFile(file, 'xyz');
        await utimes(file, 1_000, 1_000);
        const r = await readAll(file, scanned, calls());
        expect(r.bytes.toString()).toBe('xyz');
        expect(r.error?.message).toBe(`${file} was modified while being read`);
      });

      it('vanished since the scan: not_found naming the file', async () => {
        const file = join(root, 'f');
        await writeFile(file, 'abc');
        const scanned = await stateOf(file);
        await remove();
        const r = await readAll(file, scanned, calls());
        expect(r.pieces).toBe(0);
        expect(r.error?.code).toBe('not_found');
        expect(r.error?.message).toContain(`open ${file}: no such file or directory (ENOENT)`);
      });
    });
  }

  it('a stream closed before its first read opens nothing', async () => {
    await writeFile(join(root, 'f'), 'abc');
    const calls = new InlineCalls();
    const it = fileContent(join(root, 'f'), await stateOf(join(root, 'f')), calls)[Symbol.asyncIterator]();
    expect(await it.return?.()).toEqual({ done: true, value: undefined });
    expect(await it.next()).toEqual({ done: true, value: undefined });
    expect(calls.counts).toEqual({ inline: 0, pooled: 0 });
  });
});
