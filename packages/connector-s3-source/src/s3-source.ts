/** The S3 source: backs up the objects under BUCKET/PREFIX. */
import {
  GetObjectTaggingCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  type Tag,
} from '@aws-sdk/client-s3';
import {
  ConnectorError,
  type ContentStream,
  isConnectorError,
  type Source,
  type SourceInfo,
  type SourceRecord,
  type Timestamp,
} from '@kloset/connector-contract';
import {
  createS3Connection,
  DEFAULT_RETRY,
  etagIsBodyMd5,
  META_KEY,
  META_PREFIX,
  objectMetadata,
  type RetryPolicy,
  type S3Connection,
  type S3Settings,
  s3Call,
  unquoteEtag,
  withRetry,
} from '@kloset/s3-common';
import { type DirEvent, type FileEvent, KeyTree, type TreeEvent } from './key-tree.ts';
import { type ListedObject, listObjects } from './listing.ts';

import { readObject } from './object-reader.ts';

/** How an S3Source is built. */
export interface S3SourceConfig {
  readonly settings: S3Settings;
  /** Retries of each request. Default: 6 attempts, 250 ms doubling up to 10 s, jittered. */
  readonly retry?: RetryPolicy;
}

type Outcome = { readonly record: SourceRecord } | { readonly fatal: unknown };

function timestamp(ms: number): Timestamp {
  const sec = Math.floor(ms / 1000);
  return { sec, nsec: (ms - sec * 1000) * 1_000_000 };
}

const noContent = (): Promise<ContentStream> =>
  Promise.reject(new Error('S3 source: only files have content to open'));

/**
 * Source over BUCKET/PREFIX. `scan` streams ListObjectsV2 pages (the next one is fetched while the
 * current one is processed), turns keys into paths with KeyTree (see key-tree.ts and s3-common
 * names.ts), and asks HeadObject (and GetObjectTagging when the object has tags) for each object,
 * up to `concurrency` at once, yielding records as their answers arrive. `open` streams GetObject
 * pinned to the ETag seen, checking the MD5 when the ETag is one.
 */
export class S3Source implements Source {
  readonly info: SourceInfo;
  readonly #conn: S3Connection;
  readonly #prefix: string;
  readonly #concurrency: number;
  readonly #retry: RetryPolicy;

  constructor(config: S3SourceConfig) {
    const { location } = config.settings;
    this.#conn = createS3Connection(config.settings);
    this.#prefix = location.prefix;
    this.#concurrency = config.settings.concurrency;
    this.#retry = config.retry ?? DEFAULT_RETRY;
    // The root is the prefix as a path: `/` for the whole bucket, `/photos/` for `photos/`.
    this.info = {
      protocol: 's3',
      origin: `${location.host}/${location.bucket}`,
      root: `/${location.prefix}`,
    };
  }

  async *scan(signal?: AbortSignal): AsyncIterable<SourceRecord> {
    signal?.throwIfAborted();
    for await (const record of this.#records(signal)) {
      // An abort stops the scan at the next record, whatever was already prepared.
      signal?.throwIfAborted();
      yield record;
    }
  }

  async *#records(signal: AbortSignal | undefined): AsyncGenerator<SourceRecord> {
    const tree = new KeyTree<ListedObject>();
    const inFlight = new Map<number, Promise<{ id: number; outcome: Outcome }>>();
    let nextId = 0;
    const take = async (): Promise<SourceRecord> => {
      const { id, outcome } = await Promise.race(inFlight.values());
      inFlight.delete(id);
      if ('fatal' in outcome) throw outcome.fatal;
      return outcome.record;
    };
    const handle = async function* (
      this: S3Source,
      events: TreeEvent<ListedObject>[],
    ): AsyncGenerator<SourceRecord> {
      for (const ev of events) {
        if (ev.kind === 'dir') {
          yield this.#directory(ev);
          continue;
        }
        while (inFlight.size >= this.#concurrency) yield await take();
        const id = nextId++;
        inFlight.set(
          id,
          this.#file(ev, signal).then((outcome) => ({ id, outcome })),
        );
      }
    }.bind(this);
    try {
      for await (const obj of listObjects(this.#conn, this.#prefix, this.#retry, signal)) {
        signal?.throwIfAborted();
        yield* handle(tree.push(obj.key.slice(this.#prefix.length), obj, obj.lastModifiedMs));
      }
      yield* handle(tree.end());
      while (inFlight.size > 0) yield await take();
    } finally {
      // Stopped early: let the heads still running finish on their own.
      for (const p of inFlight.values()) p.catch(() => {});
    }
  }

  #directory(ev: DirEvent): SourceRecord {
    return {
      path: ev.path,
      type: 'directory',
      size: 0,
      mtime: timestamp(ev.mtimeMs),
      metadata: { [META_PREFIX]: `${this.#prefix}${ev.prefix}` },
      open: noContent,
    };
  }

  async #file(ev: FileEvent<ListedObject>, signal: AbortSignal | undefined): Promise<Outcome> {
    const key = `${this.#prefix}${ev.key}`;
    const { bucket, endpoint } = this.#conn.settings.location;
    let head: HeadObjectCommandOutput;
    let tags: Tag[] = [];
    try {
      head = await withRetry(
        () =>
          s3Call(
            { op: 'HeadObject', bucket, key, endpoint },
            () =>
              this.#conn.client.send(
                new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }),
                {
                  abortSignal: signal,
                },
              ),
            signal,
          ),
        this.#retry,
        signal,
      );
      if ((head.TagCount ?? 0) > 0) {
        const out = await withRetry(
          () =>
            s3Call(
              { op: 'GetObjectTagging', bucket, key, endpoint },
              () =>
                this.#conn.client.send(
                  new GetObjectTaggingCommand({
                    Bucket: bucket,
                    Key: key,
                    ...(head.VersionId && head.VersionId !== 'null' ? { VersionId: head.VersionId } : {}),
                  }),
                  { abortSignal: signal },
                ),
              signal,
            ),
          this.#retry,
          signal,
        );
        tags = out.TagSet ?? [];
      }
    } catch (err) {
      if (signal?.aborted || (isConnectorError(err) && err.code === 'auth')) return { fatal: err };
      return { record: this.#failed(ev, key, err) };
    }
    const size = head.ContentLength ?? ev.item.size;
    const etag = head.ETag;
    const toRead = { key, size, ...(etag !== undefined ? { etag } : {}), checkMd5: etagIsBodyMd5(head) };
    const conn = this.#conn;
    const retry = this.#retry;
    return {
      record: {
        path: ev.path,
        type: 'file',
        size,
        mtime: timestamp(head.LastModified?.getTime() ?? ev.item.lastModifiedMs),
        metadata: objectMetadata(key, head, tags, ev.item.storageClass),
        ...(etag !== undefined ? { changeToken: unquoteEtag(etag) } : {}),
        open: async () => readObject(conn, toRead, retry),
      },
    };
  }

  #failed(ev: FileEvent<ListedObject>, key: string, err: unknown): SourceRecord {
    const message = err instanceof Error ? err.message : String(err);
    const vanished = isConnectorError(err, 'not_found') ? ' (deleted since it was listed?)' : '';
    return {
      path: ev.path,
      type: 'file',
      size: ev.item.size,
      mtime: timestamp(ev.item.lastModifiedMs),
      metadata: { [META_KEY]: key },
      error: `${message}${vanished}`,
      open: () => Promise.reject(new ConnectorError('not_found', message)),
    };
  }

  async close(): Promise<void> {
    this.#conn.destroy();
  }
}
