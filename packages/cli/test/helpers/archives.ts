/** Reads package archives, and writes altered ones, to test what `pkg add` accepts and refuses. */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Header, type types } from 'tar';
import { readTar } from '../../src/pkg/tar.ts';

export interface ArchiveEntry {
  readonly name: string;
  readonly body: Buffer;
  /** Tar type: File (default), Link, SymbolicLink, CharacterDevice, Directory... */
  readonly type?: types.EntryTypeName;
  /** The target of a link. */
  readonly linkpath?: string;
}

/** The entries of a .tgz, in order. */
export async function readArchive(path: string): Promise<ArchiveEntry[]> {
  const out: ArchiveEntry[] = [];
  const tar = gunzipSync(await readFile(path));
  for await (const e of readTar(Readable.from([tar]))) {
    const parts: Buffer[] = [];
    for await (const p of e.body) parts.push(p);
    out.push({ name: e.name, body: Buffer.concat(parts), type: e.type });
  }
  return out;
}

/**
 * Writes `entries` as a .tgz, header by header, whatever their names and types (tar.create would
 * refuse or rewrite the bad ones these tests need).
 */
export async function writeArchive(path: string, entries: readonly ArchiveEntry[]): Promise<void> {
  const parts = entries.flatMap((e) => {
    const h = Buffer.alloc(512);
    new Header({
      path: e.name,
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: e.body.length,
      mtime: new Date(0),
      type: e.type ?? 'File',
      linkpath: e.linkpath,
    }).encode(h);
    return [h, e.body, Buffer.alloc((512 - (e.body.length % 512)) % 512)];
  });
  await writeFile(path, gzipSync(Buffer.concat([...parts, Buffer.alloc(1024)])));
}

/** manifest.json of `entries`, parsed. */
export function manifestOf(entries: readonly ArchiveEntry[]): Record<string, unknown> {
  const m = entries.find((e) => e.name === 'manifest.json');
  if (!m) throw new Error('no manifest.json');
  return JSON.parse(m.body.toString('utf8')) as Record<string, unknown>;
}

/** `entries` with manifest.json replaced by `manifest`. */
export function withManifest(entries: readonly ArchiveEntry[], manifest: unknown): ArchiveEntry[] {
  return entries.map((e) =>
    e.name === 'manifest.json' ? { name: e.name, body: Buffer.from(JSON.stringify(manifest)) } : e,
  );
}

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}
