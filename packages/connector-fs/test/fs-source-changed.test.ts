/**
 * A file that changes while FsSource reads it: the stream yields what it read, then fails with
 * `changed`; a second open reads the file as it is then (not as scanned), and fails with `changed`
 * again only if it changes during that read.
 */
import { appendFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isConnectorError, type SourceRecord } from '@kloset/connector-contract';
import { FsSource } from '@kloset/connector-fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { READ_PIECE } from '../src/source/file-content.ts';
import { tempDir } from './helpers.ts';

let root: string;
let remove: () => Promise<void>;
beforeEach(async () => {
  ({ dir: root, remove } = await tempDir());
});
afterEach(() => remove());

async function recordOf(path: string): Promise<SourceRecord> {
  for await (const r of new FsSource(root).scan()) if (r.path === path) return r;
  throw new Error(`no ${path}`);
}

/** Reads a stream to its end or failure; `between` runs after the first piece. */
async function readAll(record: SourceRecord, between?: () => Promise<void>) {
  const pieces: Uint8Array[] = [];
  let error: unknown;
  try {
    for await (const piece of await record.open()) {
      pieces.push(piece);
      if (pieces.length === 1) await between?.();
    }
  } catch (err) {
    error = err;
  }
  return { bytes: Buffer.concat(pieces), error };
}

function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * seed + (i >>> 11)) & 0xff;
  return b;
}

describe('FsSource, a file changing while it is read', () => {
  it('grew during the read: every byte read is yielded, then changed; the second open reads it whole', async () => {
    const file = join(root, 'log');
    const first = bytes(READ_PIECE + 1000, 7);
    await writeFile(file, first);
    const record = await recordOf('/log');
    const added = Buffer.from('appended while read');
    const r1 = await readAll(record, () => appendFile(file, added));
    expect(isConnectorError(r1.error, 'changed')).toBe(true);
    expect((r1.error as Error).message).toContain('grew while being read');
    expect(r1.bytes.equals(first)).toBe(true); // the scanned size, not a byte less
    const r2 = await readAll(record);
    expect(r2.error).toBeUndefined();
    expect(r2.bytes.equals(Buffer.concat([first, added]))).toBe(true);
  });

  it('shrank during the read: the bytes read come first; the second open reads the new content', async () => {
    const file = join(root, 'shrinks');
    const before = bytes(READ_PIECE * 2 + 10, 11);
    await writeFile(file, before);
    const record = await recordOf('/shrinks');
    const r1 = await readAll(record, () => truncate(file, READ_PIECE + 5));
    expect(isConnectorError(r1.error, 'changed')).toBe(true);
    expect(r1.bytes.equals(before.subarray(0, READ_PIECE + 5))).toBe(true);
    const r2 = await readAll(record);
    expect(r2.error).toBeUndefined();
    expect(r2.bytes.equals(before.subarray(0, READ_PIECE + 5))).toBe(true);
  });

  it('changing during the second read too: that read fails with changed again, after its bytes', async () => {
    const file = join(root, 'busy');
    await writeFile(file, bytes(READ_PIECE + 100, 3));
    const record = await recordOf('/busy');
    const r1 = await readAll(record, () => appendFile(file, 'x'));
    expect(isConnectorError(r1.error, 'changed')).toBe(true);
    const now = bytes(READ_PIECE + 101, 3);
    now[READ_PIECE + 100] = 'x'.charCodeAt(0);
    await writeFile(file, now);
    const r2 = await readAll(record, () => appendFile(file, 'yz'));
    expect(isConnectorError(r2.error, 'changed')).toBe(true);
    expect(r2.bytes.equals(now)).toBe(true);
  });
});
