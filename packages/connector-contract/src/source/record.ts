/**
 * What a Source yields: one record per directory, file or symlink of what is being backed up.
 */

/** A point in time with nanosecond precision: seconds since the Unix epoch plus nanoseconds. */
export interface Timestamp {
  readonly sec: number;
  /** 0 to 999,999,999. */
  readonly nsec: number;
}

export type EntryType = 'directory' | 'file' | 'symlink';

/**
 * A path inside a source or a snapshot: `/` for the root, otherwise `/` followed by components
 * joined by `/`. A component is any non-empty string of Unicode scalar values that contains no `/`
 * and no NUL and is neither `.` nor `..`. Use `isValidPath` / `joinPath` / `splitPath` from
 * path.ts. Connectors whose native names are not valid components (S3 keys such as `a//b` or
 * `x/../y`) map them to valid ones and keep the native name in `metadata` so the matching
 * destination can restore it exactly. Connectors whose native names are bytes (POSIX file names,
 * which need not be UTF-8) use `nameFromBytes` of path.ts and keep the bytes in
 * `EntryAttributes.nameBytes` when the component had to be escaped.
 */
export type EntryPath = string;

/**
 * Connector-specific attributes that must survive a backup and a restore: S3 headers, user
 * metadata, tags, xattrs. Keys are namespaced by the connector (`s3.content-type`,
 * `s3.meta.<name>`, `s3.tag.<name>`, ...). Values are strings. The core stores the map as given
 * and hands it back unchanged to destinations; it never interprets it.
 */
export type EntryMetadata = Readonly<Record<string, string>>;

/** The attributes of an entry, as kept in a snapshot and handed to a destination. */
export interface EntryAttributes {
  readonly path: EntryPath;
  readonly type: EntryType;
  /** Length of the content in bytes for files; 0 for directories and symlinks. */
  readonly size: number;
  readonly mtime: Timestamp;
  /** POSIX permission bits (0o7777 mask), or undefined when the source has none (S3). */
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  /** Target of a symlink, exactly as read (in the string form of `nameFromBytes` when it is not UTF-8). */
  readonly linkTarget?: string;
  /**
   * The native bytes of the last component of `path`, set only when they are not the plain UTF-8
   * of it: the name is not valid UTF-8 (or holds a code point of U+EF80..U+EFFF) and the component
   * is its escaped form, `nameFromBytes(nameBytes).name`. A destination that writes names as bytes
   * (a local directory) writes this name; others use the path. Never set on the root.
   */
  readonly nameBytes?: Uint8Array;
  /** The native bytes of a symlink's target, set only when `linkTarget` is their escaped form. */
  readonly linkTargetBytes?: Uint8Array;
  readonly metadata: EntryMetadata;
}

/** The body of a file, opened lazily. */
export type ContentStream = AsyncIterable<Uint8Array>;

/**
 * What `SourceRecord.open` resolves to: the content, and, for a record with `metadataOnOpen`, the
 * entry's complete metadata, learnt from the request that opened the content.
 */
export interface OpenedContent extends ContentStream {
  /**
   * The entry's complete metadata: it replaces the record's `metadata` in the snapshot. It
   * completes the record's (every key of the record's `metadata` is there with the same value).
   * Set exactly when the record has `metadataOnOpen`.
   */
  readonly metadata?: EntryMetadata;
}

/** Two records of a scan with the same content (SourceRecord.sharedContent). */
export interface SharedContent {
  /** Names the content within the scan: the two records of a pair have the same key. */
  readonly key: string;
  /**
   * This record's complete metadata, given the other record's complete metadata (its opened
   * content's, or its own when it has no `metadataOnOpen`). Used for a record with
   * `metadataOnOpen` stored with the other's content; a record without keeps its own `metadata`.
   */
  metadata(other: EntryMetadata): EntryMetadata;
}

export interface SourceRecord extends EntryAttributes {
  /**
   * A token that changes whenever the content changes, as far as the source can tell: an S3 ETag,
   * an inode change time. Together with size and mtime it lets the engine reuse the content stored
   * in the previous snapshot without opening the entry. Undefined when the source has none.
   */
  readonly changeToken?: string;
  /**
   * Set when the entry could not be read (permission denied, vanished during the scan). The engine
   * records the error in the snapshot and goes on; `open` is not called.
   */
  readonly error?: string;
  /**
   * True when `metadata` is partial until the content is opened: the source learns the rest from
   * the request that opens the content instead of one more request per file during the scan (S3:
   * GetObject returns every header HeadObject would). `open` then resolves to content carrying the
   * complete metadata (`OpenedContent.metadata`). The engine always opens such a record (it never
   * reuses the previous snapshot's content for it) and records the opened content's metadata; the
   * record's own `metadata` (which at least identifies the entry, e.g. its S3 key) only when the
   * open fails. A source sets it only on files that are read anyway: never on a file its listing
   * shows unchanged since the previous snapshot (ScanContext.previous).
   */
  readonly metadataOnOpen?: boolean;
  /**
   * The path and type backup filters (`-exclude`, `-include`) judge this record by, when they are
   * not its own: an entry that stands for another one elsewhere in the tree (the S3 source's
   * versions of a key, under `/%%versions`, are judged as the key's file, their directories as
   * its folders). Undefined: the record's own path and type.
   */
  readonly filterAs?: { readonly path: EntryPath; readonly type: EntryType };
  /**
   * Set on a file record whose content is, byte for byte, the content of another file record of the
   * same scan carrying the same `key` (the S3 source's latest version of a key with `versions=all`:
   * once in the plain tree, once under `/%%versions`). The engine may then read the content once:
   * it stores the record of the pair that comes second with the chunks of the first (opened, or
   * reused from the previous snapshot) instead of opening it. When the first could not be read, the
   * second is recorded with that error. A source sets the same `key` on at most two records of a
   * scan, and yields them close to each other (the engine remembers a bounded number of keys; a
   * record whose pair it no longer remembers is opened as usual).
   */
  readonly sharedContent?: SharedContent;
  /**
   * Opens the content of a file. Called once per record, and only for files without `error`. The
   * stream yields exactly `size` bytes; if the content fails a check (S3 MD5 ETag), the stream
   * throws a ConnectorError and the engine records an error for this entry. If the content changed
   * while it was read, the stream yields every byte it read, then throws a `changed` ConnectorError;
   * the engine then calls `open` a second time, and that stream reads the content as it is then
   * (its size and mtime as found at that open, not as scanned), failing with `changed` again if it
   * changes during that read (the engine keeps what it read, with a warning). Never called for
   * directories and symlinks. With `metadataOnOpen`, the content carries the complete metadata;
   * without, it carries none.
   */
  open(): Promise<OpenedContent>;
}
