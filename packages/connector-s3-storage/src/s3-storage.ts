/** A Kloset store kept in an S3 bucket, under a prefix. */
import { DeleteObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import {
  type ByteRange,
  ConnectorError,
  checkLeftoverAge,
  checkRange,
  checkResourceId,
  isConnectorError,
  isPutBody,
  type LeftoverRemoval,
  type PutData,
  RESOURCE_KINDS,
  type ResourceInfo,
  type ResourceKind,
  type Storage,
  type StorageMode,
} from '@kloset/connector-contract';
import {
  abortStaleUploads,
  contentMd5,
  createBucket,
  createS3Connection,
  etagIsBodyMd5,
  formatS3Location,
  listingKeyDecoder,
  type ObjectHeaders,
  readBody,
  type S3Connection,
  type S3OpContext,
  type S3Settings,
  s3Call,
  s3ErrorCode,
  unquoteEtag,
  uploadObject,
} from '@kloset/s3-common';
import { StoreLayout } from './layout.ts';
import { bucketLockState, type LockPolicy, noObjectLockError, retentionFrom } from './object-lock.ts';
import { retentionUpkeep } from './retention.ts';

const MiB = 1024 * 1024;

/** How an S3Storage is built: settings from the options, plus tuning for tests and tools. */
export interface S3StorageConfig {
  readonly settings: S3Settings;
  /** Default `read-write`. */
  readonly mode?: StorageMode;
  /** Puts up to this size are one PutObject; larger ones are multipart. Default 16 MiB. */
  readonly multipartThreshold?: number;
  /** Part size of multipart puts (at least 5 MiB). Default 8 MiB. */
  readonly partSize?: number;
  /** Parts of one put in flight at once. Default 2 (memory per put: 2 parts). */
  readonly partsInFlight?: number;
  /** Object Lock (options object_lock and retention): every object but locks is written retained. */
  readonly lock?: LockPolicy;
}

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

function parseContentRange(
  header: string | undefined,
): { start: number; end: number; total: number } | undefined {
  const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(header ?? '');
  return m ? { start: Number(m[1]), end: Number(m[2]), total: Number(m[3]) } : undefined;
}

/**
 * Storage over BUCKET/PREFIX (see layout.ts for the keys). Makes no retries itself: wrap it in the
 * contract's RetryStorage. `create` makes the bucket if it is missing and writes the config with a
 * conditional PUT (`If-None-Match: *`), after a HEAD that also protects servers ignoring it (and
 * versioned buckets, where RGW ignores it). With a LockPolicy (object-lock.ts), every object but
 * locks is written under an Object Lock retention, `create` makes the bucket with Object Lock, and
 * a bucket without it is refused; deletes then only hide objects (FORMAT.md §12).
 */
export class S3Storage implements Storage {
  readonly location: string;
  readonly mode: StorageMode;
  readonly #conn: S3Connection;
  readonly #layout: StoreLayout;
  readonly #bucket: string;
  readonly #endpoint: string;
  readonly #threshold: number;
  readonly #partSize: number;
  readonly #partsInFlight: number;
  readonly #storageClass: string | undefined;
  readonly #lock: LockPolicy | undefined;
  /** The check that the bucket has Object Lock, made once before the first write. */
  #lockChecked: Promise<void> | undefined;

  constructor(config: S3StorageConfig) {
    const { settings } = config;
    this.location = formatS3Location(settings.location);
    this.mode = config.mode ?? 'read-write';
    this.#conn = createS3Connection(settings, { maxAttempts: 1 });
    this.#layout = new StoreLayout(settings.location.prefix);
    this.#bucket = settings.location.bucket;
    this.#endpoint = settings.location.endpoint;
    this.#partSize = config.partSize ?? 8 * MiB;
    this.#threshold = Math.max(config.multipartThreshold ?? 16 * MiB, 0);
    this.#partsInFlight = config.partsInFlight ?? 2;
    this.#storageClass = settings.storageClass;
    this.#lock = config.lock;
  }

  /** The headers of an object of `kind` written now: storage class, and a retention but for locks. */
  #headers(kind: ResourceKind | 'config'): ObjectHeaders | undefined {
    const retention = this.#lock !== undefined && kind !== 'lock' ? retentionFrom(this.#lock) : undefined;
    if (this.#storageClass === undefined && retention === undefined) return undefined;
    return {
      ...(this.#storageClass !== undefined ? { storageClass: this.#storageClass } : {}),
      ...(retention !== undefined ? { retention } : {}),
    };
  }

  /** With Object Lock options: refuses a bucket without Object Lock (once per storage). */
  async #checkLock(): Promise<void> {
    if (this.#lock === undefined) return;
    this.#lockChecked ??= bucketLockState(this.#conn, this.#bucket).then((state) => {
      if (state === 'disabled') throw noObjectLockError(this.#bucket, this.location);
    });
    try {
      await this.#lockChecked;
    } catch (err) {
      this.#lockChecked = undefined;
      throw err;
    }
  }

  #ctx(op: string, key?: string): S3OpContext {
    return { op, bucket: this.#bucket, endpoint: this.#endpoint, ...(key !== undefined ? { key } : {}) };
  }

  #writable(op: string): void {
    if (this.mode === 'read-only') {
      throw new ConnectorError('permission', `S3 storage ${this.location} is read-only: ${op} refused`, {
        op,
        container: this.#bucket,
        endpoint: this.#endpoint,
      });
    }
  }

  async create(config: Uint8Array): Promise<void> {
    this.#writable('create');
    const key = this.#layout.configKey;
    const existing = new ConnectorError(
      'already_exists',
      `a kloset store already exists at ${this.location}`,
      {
        op: 'create',
        container: this.#bucket,
        key,
        endpoint: this.#endpoint,
      },
    );
    if (await this.#exists(key)) throw existing;
    const bytes = config.slice();
    const md5 = contentMd5(bytes);
    const put = () => {
      const headers = this.#headers('config');
      return s3Call(this.#ctx('PutObject', key), () =>
        this.#conn.putObject({ key, body: bytes, md5, ifNoneMatch: true, ...(headers ? { headers } : {}) }),
      );
    };
    try {
      if (this.#lock !== undefined) {
        const state = await bucketLockState(this.#conn, this.#bucket);
        if (state === 'missing')
          await createBucket(this.#conn, this.#bucket, undefined, { objectLock: true });
        // A bucket made meanwhile by another writer, without Object Lock, is refused too.
        if (state !== 'enabled' && (await bucketLockState(this.#conn, this.#bucket)) !== 'enabled') {
          throw noObjectLockError(this.#bucket, this.location);
        }
      }
      try {
        await put();
      } catch (err) {
        if (!isConnectorError(err, 'not_found')) throw err;
        await createBucket(this.#conn, this.#bucket);
        await put();
      }
    } catch (err) {
      if (isConnectorError(err, 'already_exists')) throw existing;
      throw err;
    }
  }

  /** Whether `key` exists. A GET, not a HEAD: its error answers say why (a HEAD's 403 cannot). */
  async #exists(key: string): Promise<boolean> {
    try {
      await s3Call(this.#ctx('GetObject', key), async () => {
        const r = await this.#conn.getObject({ key });
        await readBody(r.body);
      });
      return true;
    } catch (err) {
      if (isConnectorError(err, 'not_found')) return false;
      throw err;
    }
  }

  async open(): Promise<Uint8Array> {
    const key = this.#layout.configKey;
    try {
      return await this.#getWhole(key);
    } catch (err) {
      if (isConnectorError(err, 'not_found') && s3ErrorCode(err) !== 'NoSuchBucket') {
        throw new ConnectorError(
          'not_found',
          `no kloset store at ${this.location} (no object ${JSON.stringify(key)})`,
          {
            op: 'open',
            container: this.#bucket,
            key,
            endpoint: this.#endpoint,
          },
        );
      }
      throw err;
    }
  }

  /**
   * Replaces the config object with one PutObject (an S3 put is atomic: a GET sees the old object
   * or the new one). The store must exist: a config is never created here. In a bucket with
   * versioning, the old config stays as a noncurrent version until a lifecycle rule removes it.
   */
  async replaceConfig(config: Uint8Array): Promise<void> {
    this.#writable('replaceConfig');
    const key = this.#layout.configKey;
    if (!(await this.#exists(key))) {
      throw new ConnectorError('not_found', `no kloset store at ${this.location}: no config to replace`, {
        op: 'replaceConfig',
        container: this.#bucket,
        key,
        endpoint: this.#endpoint,
      });
    }
    await this.#checkLock();
    const bytes = config.slice();
    const md5 = contentMd5(bytes);
    const headers = this.#headers('config');
    await s3Call(this.#ctx('PutObject', key), () =>
      this.#conn.putObject({ key, body: bytes, md5, ...(headers ? { headers } : {}) }),
    );
  }

  async put(kind: ResourceKind, id: string, data: PutData): Promise<void> {
    checkResourceId(kind, id, 'put', this.#bucket);
    this.#writable('put');
    await this.#checkLock();
    const key = this.#layout.key(kind, id);
    const headers = this.#headers(kind);
    const body = isPutBody(data)
      ? { size: data.size, stream: data.open() }
      : { size: data.length, stream: once(data.slice()) };
    await uploadObject({
      connection: this.#conn,
      endpoint: this.#endpoint,
      bucket: this.#bucket,
      key,
      size: body.size,
      body: body.stream,
      ...(headers ? { headers } : {}),
      multipartThreshold: this.#threshold,
      partSize: this.#partSize,
      partsInFlight: this.#partsInFlight,
    });
  }

  async get(kind: ResourceKind, id: string, range?: ByteRange): Promise<Uint8Array> {
    checkResourceId(kind, id, 'get', this.#bucket);
    const key = this.#layout.key(kind, id);
    if (range === undefined) return this.#getWhole(key);
    const context = { op: 'get', container: this.#bucket, key, endpoint: this.#endpoint };
    checkRange(range, Number.MAX_SAFE_INTEGER, context);
    if (range.length === 0) {
      const head = await s3Call(this.#ctx('HeadObject', key), () =>
        this.#conn.client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: key })),
      );
      checkRange(range, head.ContentLength ?? 0, context);
      return new Uint8Array(0);
    }
    let out: { body: Uint8Array; contentRange: string | undefined; contentLength: number | undefined };
    try {
      out = await s3Call(this.#ctx('GetObject', key), async () => {
        const r = await this.#conn.getObject({ key, offset: range.offset, length: range.length });
        const into = range.into !== undefined && range.into.length >= range.length ? range.into : undefined;
        return {
          body: await readBody(r.body, into),
          contentRange: r.answer.ContentRange,
          contentLength: r.answer.ContentLength,
        };
      });
    } catch (err) {
      if (s3ErrorCode(err) === 'InvalidRange') {
        throw new ConnectorError(
          'invalid',
          `S3 GetObject on bucket ${JSON.stringify(this.#bucket)} key ${JSON.stringify(key)}: range ${range.offset}+${range.length} goes past the end`,
          context,
          { cause: err },
        );
      }
      throw err;
    }
    if (out.contentLength !== undefined && out.body.length !== out.contentLength) {
      throw this.#corrupt(key, `got ${out.body.length} bytes, Content-Length said ${out.contentLength}`);
    }
    const cr = parseContentRange(out.contentRange);
    // Without Content-Range the server sent the whole object.
    const total = cr ? cr.total : out.body.length;
    checkRange(range, total, context);
    const body = cr ? out.body : out.body.subarray(range.offset, range.offset + range.length);
    if (cr && cr.start !== range.offset)
      throw this.#corrupt(key, `asked bytes from ${range.offset}, got from ${cr.start}`);
    if (body.length !== range.length)
      throw this.#corrupt(key, `asked ${range.length} bytes, got ${body.length}`);
    return body;
  }

  async #getWhole(key: string): Promise<Uint8Array> {
    const out = await s3Call(this.#ctx('GetObject', key), async () => {
      const { answer, body } = await this.#conn.getObject({ key });
      return {
        body: await readBody(body),
        length: answer.ContentLength,
        etag: etagIsBodyMd5(answer) ? unquoteEtag(answer.ETag ?? '') : undefined,
      };
    });
    if (out.length !== undefined && out.body.length !== out.length) {
      throw this.#corrupt(key, `got ${out.body.length} bytes, Content-Length said ${out.length}`);
    }
    if (out.etag !== undefined) {
      const md5 = Buffer.from(contentMd5(out.body), 'base64').toString('hex');
      if (md5 !== out.etag.toLowerCase())
        throw this.#corrupt(key, `MD5 ${md5} does not match ETag ${out.etag}`);
    }
    return out.body;
  }

  #corrupt(key: string, why: string): ConnectorError {
    return new ConnectorError(
      'corrupt',
      `S3 GetObject on bucket ${JSON.stringify(this.#bucket)} key ${JSON.stringify(key)}: ${why}`,
      { op: 'get', container: this.#bucket, key, endpoint: this.#endpoint },
    );
  }

  async *list(kind: ResourceKind): AsyncIterable<ResourceInfo> {
    const prefix = this.#layout.kindPrefix(kind);
    let token: string | undefined;
    do {
      const page = await s3Call(this.#ctx('ListObjectsV2', prefix), () =>
        this.#conn.listObjects({ prefix, ...(token ? { continuationToken: token } : {}) }),
      );
      const decode = listingKeyDecoder(page.EncodingType);
      for (const obj of page.Contents) {
        const id = this.#layout.idOf(kind, decode(obj.Key));
        if (id === undefined) continue;
        const modified = obj.LastModified?.getTime();
        yield modified === undefined || Number.isNaN(modified)
          ? { id, size: obj.Size ?? 0 }
          : { id, size: obj.Size ?? 0, modified };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(kind: ResourceKind, id: string): Promise<void> {
    checkResourceId(kind, id, 'delete', this.#bucket);
    this.#writable('delete');
    const key = this.#layout.key(kind, id);
    await s3Call(this.#ctx('DeleteObject', key), () =>
      this.#conn.client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: key })),
    );
  }

  /**
   * Aborts the incomplete multipart uploads that puts stopped by a crash left (a killed process
   * never aborts its upload): those to this store's own keys (the config and the resources of
   * layout.ts, under its prefix; nothing else in the bucket) initiated at least `olderThanMs` ago
   * by the server's clock against ours. A put in progress is only as old as its own duration: a
   * grace period far longer than any put (maintenance: 24 h) keeps it safe. Bytes are those of
   * the uploaded parts. With Object Lock, also the upkeep of retained versions (retention.ts).
   */
  async removeLeftovers(olderThanMs: number): Promise<LeftoverRemoval> {
    checkLeftoverAge(olderThanMs, this.location);
    this.#writable('removeLeftovers');
    const layout = this.#layout;
    const owns = (key: string) =>
      key === layout.configKey || RESOURCE_KINDS.some((kind) => layout.idOf(kind, key) !== undefined);
    const aborted = await abortStaleUploads({
      connection: this.#conn,
      endpoint: this.#endpoint,
      bucket: this.#bucket,
      prefix: layout.prefix,
      olderThanMs,
      keyFilter: owns,
    });
    if (this.#lock === undefined) return aborted;
    await this.#checkLock();
    const retention = await retentionUpkeep({
      conn: this.#conn,
      bucket: this.#bucket,
      prefix: layout.prefix,
      policy: this.#lock,
      graceMs: olderThanMs,
      owns,
      isLock: (key) => layout.idOf('lock', key) !== undefined,
    });
    return { ...aborted, retention };
  }

  async close(): Promise<void> {
    this.#conn.destroy();
  }
}
