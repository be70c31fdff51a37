/** The S3 destination: restores entries as objects under BUCKET/PREFIX. */
import { DeleteObjectCommand, GetBucketVersioningCommand } from '@aws-sdk/client-s3';
import {
  type ContentStream,
  type Destination,
  type EntryAttributes,
  type ExistingEntry,
  isConnectorError,
  Semaphore,
  type WriteOptions,
  type WriteResult,
} from '@kloset/connector-contract';
import {
  abortStaleUploads,
  createBucket,
  createS3Connection,
  describeTarget,
  formatS3Location,
  headersFromMetadata,
  META_PREFIX,
  type RetryPolicy,
  type S3Connection,
  type S3Settings,
  s3Call,
  s3ErrorCode,
  uploadObject,
  withRetry,
} from '@kloset/s3-common';
import { readObjectRange, statObject } from './existing-object.ts';
import { relativeKey } from './object-key.ts';

const MiB = 1024 * 1024;
/** Parts' worth of bodies held at most by default, however high the concurrency. */
const MAX_BUFFERED_PARTS = 16;

/** How an S3Destination is built. */
export interface S3DestinationConfig {
  readonly settings: S3Settings;
  /** Retries of each request. Default: 6 attempts, 250 ms doubling up to 10 s, jittered. */
  readonly retry?: RetryPolicy;
  /** Objects up to this size are one PutObject; larger ones are multipart. Default: the part size. */
  readonly multipartThreshold?: number;
  /** Part size of multipart uploads (at least 5 MiB). Default 8 MiB. */
  readonly partSize?: number;
  /** Parts of one object in flight at once. Default 4. */
  readonly partsInFlight?: number;
  /**
   * Bytes of bodies held in memory at once, all writes together. Default: `concurrency` parts, at
   * least 4 and at most 16 (128 MiB with 8 MiB parts).
   */
  readonly memoryBytes?: number;
  /**
   * At the end of a restore (`finish`), incomplete multipart uploads under the destination prefix
   * initiated at least this long ago (ms) are aborted: what restores killed midway left (a failed
   * or interrupted upload of this process is aborted at once). Undefined: none is. The age is the
   * only guard of uploads that other live writers (another restore, another program) are making
   * under the same prefix: it must be longer than any of them takes. Default 24 h.
   */
  readonly abortUploadsAfterMs?: number | undefined;
}

/** The default of `S3DestinationConfig.abortUploadsAfterMs`: 24 h. */
export const DEFAULT_ABORT_UPLOADS_AFTER_MS = 24 * 60 * 60 * 1000;

async function* nothing(): AsyncGenerator<Uint8Array> {}

/** Records the first error thrown by a content stream, so that it can be told from S3 errors. */
async function* watched(content: ContentStream, failed: { err?: unknown }): AsyncGenerator<Uint8Array> {
  try {
    yield* content;
  } catch (err) {
    failed.err ??= err;
    throw err;
  }
}

/**
 * Destination over BUCKET/PREFIX. Files become objects with their headers, user metadata and tags
 * (x-amz-tagging on the upload itself), the storage class of the `storage_class` option, uploaded in
 * one PutObject or, above a threshold, multipart with bounded memory (aborted on failure, so an
 * object appears whole or not at all). Directories create nothing: S3 has no directories, and a
 * folder-marker object (`dir/`) was backed up as a file of its own and is restored as one.
 */
export class S3Destination implements Destination {
  readonly location: string;
  readonly concurrency: number;
  readonly #conn: S3Connection;
  readonly #bucket: string;
  readonly #endpoint: string;
  readonly #prefix: string;
  readonly #retry: RetryPolicy;
  readonly #threshold: number;
  readonly #partSize: number;
  readonly #partsInFlight: number;
  readonly #memory: Semaphore;
  readonly #storageClass: string | undefined;
  readonly #abortUploadsAfterMs: number | undefined;
  #rootPrefix: string | undefined;
  /** Incomplete uploads aborted by `finish` (and the bytes of their parts). */
  staleUploads = { count: 0, bytes: 0 };

  constructor(config: S3DestinationConfig) {
    const { settings } = config;
    this.location = formatS3Location(settings.location);
    this.concurrency = settings.concurrency;
    this.#conn = createS3Connection(settings);
    this.#bucket = settings.location.bucket;
    this.#endpoint = settings.location.endpoint;
    this.#prefix = settings.location.prefix;
    this.#retry = config.retry ?? config.settings.retry;
    this.#partSize = config.partSize ?? 8 * MiB;
    this.#threshold = config.multipartThreshold ?? this.#partSize;
    this.#partsInFlight = config.partsInFlight ?? 4;
    const parts = Math.min(MAX_BUFFERED_PARTS, Math.max(4, settings.concurrency));
    this.#memory = new Semaphore(config.memoryBytes ?? parts * this.#partSize);
    this.#storageClass = settings.storageClass;
    this.#abortUploadsAfterMs =
      'abortUploadsAfterMs' in config ? config.abortUploadsAfterMs : DEFAULT_ABORT_UPLOADS_AFTER_MS;
  }

  /**
   * Checks the credentials and the bucket before the first write (one listing call), and creates
   * the bucket when it is missing (unless `createBucket` is false: a dry run creates nothing). Fails
   * with one line on a wrong key or an unreachable endpoint.
   */
  async prepare(options: { readonly createBucket?: boolean } = {}): Promise<void> {
    const ctx = { op: 'ListObjectsV2', bucket: this.#bucket, endpoint: this.#endpoint };
    try {
      await withRetry(
        () =>
          s3Call(ctx, () =>
            this.#conn.listObjects({ maxKeys: 1, ...(this.#prefix ? { prefix: this.#prefix } : {}) }),
          ),
        this.#retry,
      );
    } catch (err) {
      if (s3ErrorCode(err) === 'NoSuchBucket') {
        if (options.createBucket === false) return;
        return createBucket(this.#conn, this.#bucket, this.#retry);
      }
      // Credentials allowed to write but not to list are fine.
      if (isConnectorError(err, 'permission')) return;
      throw err;
    }
  }

  /** The full key of a file entry, or undefined when it has none (see write). */
  #keyOf(entry: EntryAttributes): string | undefined {
    if (entry.type !== 'file') return undefined;
    const rel = relativeKey(entry, this.#rootPrefix);
    if ('error' in rel) return undefined;
    const key = `${this.#prefix}${rel.key}`;
    return key === '' ? undefined : key;
  }

  /**
   * What exists at a file entry's key (Destination.stat): one HeadObject. Directories and symlinks
   * have no object: undefined. The restored root's entry (a directory, stat'ed first by the engine
   * like it is written first) sets the key prefix the keys below it are relative to, as `write` does.
   */
  async stat(entry: EntryAttributes): Promise<ExistingEntry | undefined> {
    if (entry.type === 'directory' && entry.path === '/') this.#rootPrefix = entry.metadata[META_PREFIX];
    const key = this.#keyOf(entry);
    if (key === undefined) return undefined;
    return statObject(this.#conn, key, entry.metadata, this.#retry);
  }

  /** Bytes of the object at a file entry's key (Destination.readExisting): one ranged GetObject. */
  async readExisting(
    entry: EntryAttributes,
    offset: number,
    into: Uint8Array,
  ): Promise<Uint8Array | undefined> {
    const key = this.#keyOf(entry);
    if (key === undefined) return undefined;
    return readObjectRange(this.#conn, key, offset, into, this.#retry);
  }

  /**
   * Whether the bucket keeps versions (Destination.keepsVersions): one GetBucketVersioning, true
   * when its status is `Enabled` (not `Suspended`, not never set); false when the bucket does not
   * exist. Creates nothing.
   */
  async keepsVersions(): Promise<boolean> {
    const ctx = { op: 'GetBucketVersioning', bucket: this.#bucket, endpoint: this.#endpoint };
    try {
      const out = await withRetry(
        () =>
          s3Call(ctx, () => this.#conn.client.send(new GetBucketVersioningCommand({ Bucket: this.#bucket }))),
        this.#retry,
      );
      return out.Status === 'Enabled';
    } catch (err) {
      if (s3ErrorCode(err) === 'NoSuchBucket') return false;
      throw err;
    }
  }

  /**
   * Deletes the object at a file entry's key (Destination.remove): one DeleteObject without a
   * version id, which on a versioned bucket writes a delete marker and keeps every version.
   */
  async remove(entry: EntryAttributes): Promise<WriteResult> {
    const { path } = entry;
    const key = this.#keyOf(entry);
    if (key === undefined) {
      return { path, ok: false, error: `S3 destination ${this.location}: ${path} has no object to remove` };
    }
    const ctx = { op: 'DeleteObject', bucket: this.#bucket, key, endpoint: this.#endpoint };
    try {
      await withRetry(
        () =>
          s3Call(ctx, () =>
            this.#conn.client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: key })),
          ),
        this.#retry,
      );
      return { path, ok: true };
    } catch (err) {
      return { path, ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  }

  /**
   * Uploads a file entry as an object. With `createOnly`, a PutObject carries `If-None-Match: *`
   * (atomic on unversioned buckets; Ceph RGW ignores it on versioned ones); a multipart upload,
   * which has no such condition everywhere, is preceded by a HeadObject instead (not atomic: an
   * object created by someone else between the two is replaced).
   */
  async write(entry: EntryAttributes, content?: ContentStream, options?: WriteOptions): Promise<WriteResult> {
    const { path } = entry;
    if (entry.type === 'directory') {
      if (path === '/') this.#rootPrefix = entry.metadata[META_PREFIX];
      return { path, ok: true };
    }
    if (entry.type !== 'file') {
      return {
        path,
        ok: false,
        error: `S3 destination ${this.location}: a ${entry.type} cannot be restored as an object`,
      };
    }
    const rel = relativeKey(entry, this.#rootPrefix);
    if ('error' in rel)
      return { path, ok: false, error: `S3 destination ${this.location}: ${path}: ${rel.error}` };
    const key = `${this.#prefix}${rel.key}`;
    if (key === '') {
      // The folder marker of a restored root, restored at the top of a bucket: nothing to write.
      if (entry.size === 0) return { path, ok: true };
      return { path, ok: false, error: `S3 destination ${this.location}: ${path} would need an empty key` };
    }
    const failed: { err?: unknown } = {};
    const createOnly = options?.createOnly === true;
    const exists: WriteResult = {
      path,
      ok: false,
      exists: true,
      error: `${describeTarget(this.#bucket, key)} exists: not replaced`,
    };
    try {
      if (createOnly && entry.size > this.#threshold && (await this.stat(entry)) !== undefined) return exists;
      await uploadObject({
        connection: this.#conn,
        endpoint: this.#endpoint,
        bucket: this.#bucket,
        key,
        size: entry.size,
        body: watched(content ?? nothing(), failed),
        headers: {
          ...headersFromMetadata(entry.metadata),
          ...(this.#storageClass !== undefined ? { storageClass: this.#storageClass } : {}),
        },
        multipartThreshold: this.#threshold,
        partSize: this.#partSize,
        partsInFlight: this.#partsInFlight,
        memory: this.#memory,
        retry: this.#retry,
        ...(createOnly ? { ifNoneMatch: true } : {}),
      });
      return { path, ok: true };
    } catch (err) {
      if (createOnly && failed.err === undefined && isConnectorError(err, 'already_exists')) return exists;
      // The content failed a check upstream: let its error through (nothing was left behind).
      if (failed.err !== undefined) throw failed.err;
      return { path, ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  }

  /**
   * Aborts the incomplete multipart uploads under the destination prefix older than
   * `abortUploadsAfterMs` (every write of this restore has resolved by now: none of them is
   * among those). Credentials not allowed to list or abort uploads skip it.
   */
  async finish(): Promise<void> {
    if (this.#abortUploadsAfterMs === undefined) return;
    try {
      this.staleUploads = await abortStaleUploads({
        connection: this.#conn,
        endpoint: this.#endpoint,
        bucket: this.#bucket,
        prefix: this.#prefix,
        olderThanMs: this.#abortUploadsAfterMs,
        retry: this.#retry,
      });
    } catch (err) {
      if (isConnectorError(err, 'permission') || s3ErrorCode(err) === 'NotImplemented') return;
      throw err;
    }
  }

  async close(): Promise<void> {
    this.#conn.destroy();
  }
}
