import type { SourceRecord } from './record.ts';
import type { ScanContext } from './scan-context.ts';

/** What the snapshot header records about where the data came from. */
export interface SourceInfo {
  /** The protocol of the connector, e.g. `fs`, `s3`. */
  readonly protocol: string;
  /**
   * Identifies the origin, stable across runs: a host name for local directories, the endpoint and
   * bucket for S3. Two backups are "of the same source" when protocol, origin and root are equal.
   */
  readonly origin: string;
  /** The root that was backed up: an absolute directory, a bucket prefix. */
  readonly root: string;
}

/**
 * A Source walks what is to be backed up and yields one record per entry.
 *
 * Contract:
 * - `scan` yields every entry under the root exactly once, the root itself included (path `/`, a
 *   directory). Order is free: the engine sorts. A parent directory need not come first.
 * - Entries that cannot be read are yielded with `error` set; `scan` throws only when the whole
 *   walk cannot go on (root missing, credentials refused), with a ConnectorError.
 * - Memory must not grow with the number of entries: yield as you list (stream pages).
 * - `scan` honours `signal`: when aborted it stops promptly and throws the abort reason.
 * - `open` of different records may be called concurrently: the engine reads up to `concurrency`
 *   files at once.
 * - `context` (optional, see scan-context.ts) lets the source look up the previous snapshot's entry
 *   of a path, to skip reading attributes its listing proves unchanged. A source may ignore it.
 * - `close` releases connections; after it no method is called.
 */
export interface Source {
  readonly info: SourceInfo;
  /**
   * How many files the engine should read (open and stream) at once, an integer >= 1. Optional: the
   * engine's default (8) suits a local disk; a source whose reads are latency bound (S3) asks for
   * more. Memory stays bounded whatever the value: the engine bounds the bytes in flight itself.
   */
  readonly concurrency?: number;
  scan(signal?: AbortSignal, context?: ScanContext): AsyncIterable<SourceRecord>;
  close(): Promise<void>;
}
