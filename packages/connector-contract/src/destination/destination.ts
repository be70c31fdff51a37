import type { ContentStream, EntryAttributes, EntryPath, EntryType } from '../source/record.ts';

/** The outcome of writing one entry. */
export interface WriteResult {
  readonly path: string;
  readonly ok: boolean;
  /** One line saying what failed, when `ok` is false. */
  readonly error?: string;
  /**
   * Set (with `ok` false) only by a `createOnly` write that wrote nothing because something
   * already exists at the entry's place: that existing file, object or symlink is left untouched.
   */
  readonly exists?: boolean;
}

/** How one entry is written. */
export interface WriteOptions {
  /**
   * Never replace: when anything (a file, object, symlink, directory...) already exists at the
   * place of a file or symlink entry, write nothing, leave it as it is and
   * resolve with `{ ok: false, exists: true }` (the content stream may be left unread). The test
   * and the creation are one atomic step where the destination can make them one (a local
   * directory: `O_EXCL`; S3: a PutObject with `If-None-Match: *`); where it cannot (a multipart
   * upload), the destination checks just before it writes. Directory entries ignore it: they
   * are merged into an existing directory, as without it.
   */
  readonly createOnly?: boolean;
}

/**
 * What a destination holds at an entry's place before the restore writes it (`Destination.stat`).
 */
export interface ExistingEntry {
  /** `other` for what is none of the three (a FIFO, a socket, a device). */
  readonly type: EntryType | 'other';
  /** Content length in bytes (files and objects; 0 for directories and symlinks). */
  readonly size: number;
  /** A symlink's target, in the form of `EntryAttributes.linkTarget`. */
  readonly linkTarget?: string;
  /**
   * Whether the existing content is the entry's content, when the destination knows it exactly
   * without reading it: an S3 object whose ETag is the MD5 of its body, compared with the MD5 the
   * entry's own metadata recorded (an ETag of the same kind, verified when it was backed up).
   * Undefined when it does not know: the engine then compares the bytes (`readExisting`).
   */
  readonly sameContent?: boolean;
}

/**
 * A Destination receives the entries of a snapshot (or of one of its sub-trees) and writes them.
 *
 * Contract:
 * - The engine calls `write` for a directory before any of its children. Paths are relative to
 *   the restored root: the restored root itself comes as `/`.
 * - `write` may be called concurrently for different entries (up to the destination's own
 *   `concurrency` hint), but only once the parent's `write` has resolved.
 * - For files, `content` yields exactly `entry.size` bytes of verified data; the destination writes
 *   it and the entry's metadata (mode, mtime, S3 headers, tags...). For directories and symlinks
 *   `content` is undefined.
 * - A failure of one entry does not stop the restore: `write` resolves with `ok: false` and a
 *   one-line error (or throws a ConnectorError, which the engine turns into such a result). It
 *   must not leave a partial file under the final name: write to a temporary name and rename, or
 *   upload in one request / complete a multipart upload only at the end.
 * - If `content` throws (corrupt data detected by the engine), the destination discards what it
 *   wrote for that entry and lets the error propagate.
 * - `write` with `createOnly` never replaces what exists (see WriteOptions); without it, an
 *   existing file, object or symlink at the entry's place is replaced whole.
 * - Two writes (or a write and a `remove`) of the same path are never in flight at once: the
 *   engine writes them one after the other, each once the one before has resolved (a restore of
 *   every version of a key, oldest first, into a destination that `keepsVersions`).
 * - `finish()` is called once after every write has resolved: apply deferred attributes
 *   (directory mtimes), flush. `close()` releases resources.
 */
export interface Destination {
  readonly location: string;
  /** How many writes may run at once; the engine never exceeds it. */
  readonly concurrency: number;
  /**
   * True when the destination is done with each chunk of a content stream by the time it asks for
   * the next one (or ends the stream), and with every chunk once `write` resolves, as a loop that
   * awaits the write of each chunk before the next is: the engine may then read other data into
   * that chunk's memory. Unset, chunks stay the destination's for as long as it holds them (for
   * instance to gather the parts of an upload) and their memory is never reused.
   */
  readonly releasesChunks?: boolean;
  /**
   * Optional: reads back bytes of a file that this destination wrote earlier in this session (its
   * `write` resolved ok): `into.length` bytes from `offset` of the file at `path` (the path `write`
   * was given), into `into`. Resolves to `into` filled, or to undefined when it cannot give every
   * byte (the file is gone or unreadable, the range passes its end); it never rejects. The bytes
   * must be those the file was written with. The engine uses it to restore content that a file of
   * the same restore already holds (a duplicate file, a shared chunk) without fetching, decrypting
   * and verifying it again; on undefined it fetches the bytes from the store. A destination for
   * which reading back costs more than a fetch from the store (a remote one) leaves it unset.
   */
  readWritten?(path: EntryPath, offset: number, into: Uint8Array): Promise<Uint8Array | undefined>;
  /**
   * Optional (with `readExisting`): what exists now at the place `entry` would be written to, or
   * undefined when nothing does. Read-only: it creates nothing, not even the destination's root or
   * bucket, and may be called for any entry, before its parent is written and in a dry run. It
   * resolves to undefined when the place or one of its parents does not exist, and rejects (a
   * ConnectorError naming the path) when it cannot tell (permission denied, network).
   */
  stat?(entry: EntryAttributes): Promise<ExistingEntry | undefined>;
  /**
   * Optional (with `stat`): reads `into.length` bytes from `offset` of the file or object that
   * exists now at `entry`'s place, into `into`. Resolves to `into` filled, or to undefined when it
   * cannot give every byte (it is gone, it is not a file, the range passes its end); rejects only
   * when it cannot tell (permission denied, network). Read-only, like `stat`.
   */
  readExisting?(entry: EntryAttributes, offset: number, into: Uint8Array): Promise<Uint8Array | undefined>;
  /**
   * Optional (with `remove`): whether this destination keeps versions: whether writing a file at a
   * place already written keeps what was there as an older version, and `remove` leaves a delete
   * marker over the versions kept (an S3 bucket whose versioning status is `Enabled`; not a
   * `Suspended` one, not a local directory). Resolves to false when the place does not exist (a
   * missing bucket). Read-only: creates nothing; may be called before any write and in a dry run.
   * Rejects (a ConnectorError) only when it cannot tell (permission denied, network). Unset: the
   * destination keeps no versions.
   */
  keepsVersions?(): Promise<boolean>;
  /**
   * Optional (with `keepsVersions`): removes the file or object at a file `entry`'s place, as a
   * plain delete: on a destination that keeps versions it writes a delete marker (S3: DeleteObject
   * without a version id) and every older version stays; on one that does not, what is there is
   * gone. Nothing at that place is fine (on a destination that keeps versions, a delete marker is
   * written all the same). Resolves with `ok: true`, or `ok: false` and a one-line error; called
   * under the same rules as `write` (after the parent's write, within `concurrency`, counted as a
   * write), and never while a `write` or `remove` of the same path is in flight. Only `path`,
   * `type` (`file`) and `metadata` of `entry` are meaningful.
   */
  remove?(entry: EntryAttributes): Promise<WriteResult>;
  write(entry: EntryAttributes, content?: ContentStream, options?: WriteOptions): Promise<WriteResult>;
  finish(): Promise<void>;
  close(): Promise<void>;
}
