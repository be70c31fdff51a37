/** Reads package archives, and writes altered ones, to test what `pkg add` accepts and refuses. */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { gunzipSync, gzipSync } from 'node:zlib';
import { END_OF_ARCHIVE, fileHeader, padding, readTar } from '../../src/pkg/tar.ts';

export interface ArchiveEntry {
  readonly name: string;
  readonly body: Buffer;
  /** Tar type flag: '0' file (default), '2' symlink, '5' directory. */
  readonly type?: string;
}

/** The entries of a .tgz, in order. */
export async function readArchive(path: string): Promise<ArchiveEntry[]> {
  const out: ArchiveEntry[] = [];
  const tar = gunzipSync(await readFile(path));
  const chunks = (async function* () {
    yield tar;
  })();
  for await (const e of readTar(chunks)) {
    const parts: Buffer[] = [];
    for await (const p of e.body) parts.push(p);
    out.push({ name: e.name, body: Buffer.concat(parts), type: e.type });
  }
  return out;
}

function header(e: ArchiveEntry): Buffer {
  const h = fileHeader(e.name, e.body.length);
  h.write(e.type ?? '0', 156, 'ascii');
  h.write('        ', 148, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

/** Writes `entries` as a .tgz. */
export async function writeArchive(path: string, entries: readonly ArchiveEntry[]): Promise<void> {
  const parts = entries.flatMap((e) => [header(e), e.body, padding(e.body.length)]);
  await writeFile(path, gzipSync(Buffer.concat([...parts, END_OF_ARCHIVE])));
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
