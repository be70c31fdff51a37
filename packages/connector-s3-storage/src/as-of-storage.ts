/**
 * A store in a versioned bucket as it was at an instant (`-as-of TIME`): read-only; every object
 * is read as its version current then (versions.ts), so that deletes (delete markers) and
 * overwrites (newer versions) made since are not seen. The core reads it as any store.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import {
  type ByteRange,
  ConnectorError,
  checkRange,
  checkResourceId,
  type ResourceInfo,
  type ResourceKind,
  type Storage,
} from '@kloset/connector-contract';
import {
  createS3Connection,
  formatS3Location,
  type S3Connection,
  type S3Settings,
  s3Call,
} from '@kloset/s3-common';
import { StoreLayout } from './layout.ts';
import { type ObjectVersion, versionsAsOf } from './versions.ts';

/** Version ids remembered from listings and lookups, at most (about 200 bytes each). */
const REMEMBERED = 50_000;

export interface S3AsOfConfig {
  readonly settings: S3Settings;
  /** The instant (Unix ms). */
  readonly asOf: number;
}

export class S3AsOfStorage implements Storage {
  readonly location: string;
  readonly mode = 'read-only' as const;
  readonly #conn: S3Connection;
  readonly #layout: StoreLayout;
  readonly #bucket: string;
  readonly #endpoint: string;
  readonly #asOf: number;
  /** key -> its version at `asOf` (undefined: absent then), oldest first for eviction. */
  readonly #versions = new Map<string, Promise<ObjectVersion | undefined>>();

  constructor(config: S3AsOfConfig) {
    const { settings } = config;
    this.#asOf = config.asOf;
    this.location = `${formatS3Location(settings.location)} as of ${new Date(config.asOf).toISOString()}`;
    this.#conn = createS3Connection(settings, { maxAttempts: 1 });
    this.#layout = new StoreLayout(settings.location.prefix);
    this.#bucket = settings.location.bucket;
    this.#endpoint = settings.location.endpoint;
  }

  #refuse(op: string): Promise<never> {
    return Promise.reject(
      new ConnectorError('permission', `S3 storage ${this.location} is read-only: ${op} refused`, {
        op,
        container: this.#bucket,
        endpoint: this.#endpoint,
      }),
    );
  }

  create(): Promise<void> {
    return this.#refuse('create');
  }
  put(): Promise<void> {
    return this.#refuse('put');
  }
  delete(): Promise<void> {
    return this.#refuse('delete');
  }
  replaceConfig(): Promise<void> {
    return this.#refuse('replaceConfig');
  }

  #remember(key: string, version: Promise<ObjectVersion | undefined>): void {
    this.#versions.delete(key);
    this.#versions.set(key, version);
    if (this.#versions.size > REMEMBERED) {
      const oldest = this.#versions.keys().next().value;
      if (oldest !== undefined) this.#versions.delete(oldest);
    }
  }

  /** The version of `key` current at `asOf`, or undefined when it had none (or a delete marker). */
  #versionOf(key: string): Promise<ObjectVersion | undefined> {
    const known = this.#versions.get(key);
    if (known !== undefined) return known;
    const lookup = (async () => {
      for await (const v of versionsAsOf(this.#conn, this.#bucket, key, this.#asOf)) {
        if (v.key === key) return v;
      }
      return undefined;
    })();
    this.#remember(key, lookup);
    lookup.catch(() => this.#versions.delete(key));
    return lookup;
  }

  #absent(op: string, key: string, what: string): ConnectorError {
    return new ConnectorError(
      'not_found',
      `${what} at ${this.location}: no version of ${JSON.stringify(key)} in bucket ${JSON.stringify(this.#bucket)} was current then`,
      { op, container: this.#bucket, key, endpoint: this.#endpoint },
    );
  }

  async open(): Promise<Uint8Array> {
    const key = this.#layout.configKey;
    const v = await this.#versionOf(key);
    if (v === undefined) throw this.#absent('open', key, 'no kloset store');
    return this.#read(v);
  }

  async get(kind: ResourceKind, id: string, range?: ByteRange): Promise<Uint8Array> {
    checkResourceId(kind, id, 'get', this.#bucket);
    const key = this.#layout.key(kind, id);
    const v = await this.#versionOf(key);
    if (v === undefined) throw this.#absent('get', key, `no ${kind} ${id}`);
    if (range === undefined) return this.#read(v);
    checkRange(range, v.size, { op: 'get', container: this.#bucket, key, endpoint: this.#endpoint });
    if (range.length === 0) return new Uint8Array(0);
    return this.#read(v, range);
  }

  async #read(v: ObjectVersion, range?: ByteRange): Promise<Uint8Array> {
    const ctx = { op: 'GetObject', bucket: this.#bucket, key: v.key, endpoint: this.#endpoint };
    const body = await s3Call(ctx, async () => {
      const out = await this.#conn.client.send(
        new GetObjectCommand({
          Bucket: this.#bucket,
          Key: v.key,
          VersionId: v.versionId,
          ...(range !== undefined
            ? { Range: `bytes=${range.offset}-${range.offset + range.length - 1}` }
            : {}),
        }),
      );
      if (out.Body === undefined) return new Uint8Array(0);
      return out.Body.transformToByteArray();
    });
    const expected = range?.length ?? v.size;
    if (body.length !== expected) {
      throw new ConnectorError(
        'corrupt',
        `S3 GetObject on bucket ${JSON.stringify(this.#bucket)} key ${JSON.stringify(v.key)} version ${v.versionId}: got ${body.length} bytes, expected ${expected}`,
        { op: 'get', container: this.#bucket, key: v.key, endpoint: this.#endpoint },
      );
    }
    return body;
  }

  async *list(kind: ResourceKind): AsyncIterable<ResourceInfo> {
    const prefix = this.#layout.kindPrefix(kind);
    for await (const v of versionsAsOf(this.#conn, this.#bucket, prefix, this.#asOf)) {
      const id = this.#layout.idOf(kind, v.key);
      if (id === undefined) continue;
      this.#remember(v.key, Promise.resolve(v));
      yield { id, size: v.size, modified: v.modified };
    }
  }

  async close(): Promise<void> {
    this.#conn.destroy();
  }
}
