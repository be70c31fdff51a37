/**
 * Package archives are gzipped tar files, written and parsed by the `tar` package; this module
 * only fixes how: archives are reproducible (portable headers, mtime 0, fixed modes, entries in the
 * given order), and reading is strict (a bad checksum, a truncated body, an entry type tar skips or
 * a missing end-of-archive marker is an error) and hands entries out one at a time, each body
 * streamed, never held in memory whole.
 */
import type { Readable } from 'node:stream';
import { create, Parser, type ReadEntry, type types } from 'tar';

type EntryTypeName = types.EntryTypeName;

/** A malformed archive; the message says what is wrong (the caller adds which archive). */
export class TarError extends Error {
  override readonly name = 'TarError';
}

/**
 * Writes `file`, a gzipped tar of the files `names` of `dir` in that order. The same files give
 * the same bytes: no owner, times or host in the headers, mode 0644 (the files are expected to
 * have it, tar's portable mode keeps it), mtime 0.
 */
export async function writeTarGz(file: string, dir: string, names: readonly string[]): Promise<void> {
  for (const name of names) {
    // tar reads a name starting with @ as another archive to copy from.
    if (name.startsWith('@')) throw new TarError(`entry name ${name} is not allowed`);
  }
  await create(
    {
      file,
      cwd: dir,
      gzip: { level: 9 },
      portable: true,
      mtime: new Date(0),
      noDirRecurse: true,
      strict: true,
      mode: 0o644,
    },
    [...names],
  );
}

/** A tar failure reported by the `tar` package (it sets `tarCode`), as a TarError. */
function tarError(err: unknown): unknown {
  const e = err as Error & { tarCode?: unknown };
  if (typeof e?.tarCode !== 'string') return err;
  // "TAR_ENTRY_INVALID: checksum failure" -> "checksum failure"
  return new TarError(e.message.replace(/^TAR_[A-Z_]+: /, ''));
}

/** One entry of an archive being read: consume `body` before asking for the next entry. */
export interface TarEntry {
  /** The path, as stored (tar only turns \\ into / on Windows). */
  readonly name: string;
  readonly size: number;
  /** `File` (or `OldFile`, of archives older than POSIX) for a regular file; see tar's types. */
  readonly type: EntryTypeName;
  readonly body: AsyncIterable<Buffer>;
}

/**
 * The entries of the (uncompressed) tar stream `source`, in order; a body left unread is skipped.
 * Errors of `source` and of the archive are thrown by the body being read when they happen, else
 * here.
 */
export async function* readTar(source: Readable): AsyncGenerator<TarEntry, void, undefined> {
  const parser = new Parser({ strict: true });
  const ready: ReadEntry[] = [];
  let current: ReadEntry | undefined;
  let failure: unknown;
  let ended = false;
  let sawEnd = false;
  let wake: (() => void) | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const fail = (err: unknown) => {
    failure ??= tarError(err);
    // A body being read stops instead of waiting for bytes that will not come (not at once: tar
    // may still write to the entry after reporting the error).
    queueMicrotask(() => {
      if (current && !current.emittedEnd) current.destroy();
    });
    poke();
  };
  async function* body(entry: ReadEntry): AsyncIterable<Buffer> {
    try {
      for await (const chunk of entry as AsyncIterable<Buffer>) yield chunk;
    } catch (err) {
      throw failure ?? err;
    }
    if (failure !== undefined) throw failure;
  }
  parser.on('entry', (e: ReadEntry) => {
    ready.push(e);
    poke();
  });
  parser.on('ignoredEntry', (e: ReadEntry) =>
    fail(new TarError(`entry ${JSON.stringify(e.path)} of type ${e.type} is not a regular file`)),
  );
  parser.on('eof', () => {
    sawEnd = true;
  });
  parser.on('error', fail);
  parser.on('end', () => {
    ended = true;
    poke();
  });
  source.on('error', fail);
  source.pipe(parser as unknown as NodeJS.WritableStream);
  try {
    for (;;) {
      if (failure !== undefined) throw failure;
      const entry = ready.shift();
      if (entry) {
        current = entry;
        yield { name: entry.path, size: entry.size, type: entry.type, body: body(entry) };
        if (failure !== undefined) throw failure;
        if (!entry.emittedEnd) entry.resume();
        continue;
      }
      if (ended) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
    if (!sawEnd) throw new TarError('no end-of-archive marker');
  } finally {
    source.unpipe(parser as unknown as NodeJS.WritableStream);
    if (!ended) source.destroy();
  }
}
